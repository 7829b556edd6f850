// APN's constrained k-medoids for one video, shared by the C++ and CUDA kernels: distances rounded to
// integers, the assignment's dynamic programme over one gap between points, medoid objectives and the
// background subset. Mirrors ptal_core/reference/constrained_kmedoids.py.
//
// Clusters of a video with n points p_1 < ... < p_n, in temporal order: bkg_0, act_1, bkg_1, ..., act_n,
// bkg_n, numbered 0 .. 2n (act_i = 2i - 1, bkg_i = 2i). Snippet p_i is in act_i. The free snippets of
// gap j (between p_j and p_{j+1}, with p_0 = -1 and p_{n+1} = length) may belong, in this order, to act_j
// (state 0, absent for j = 0), bkg_j (state 1) or act_{j+1} (state 2, absent for j = n): cluster
// 2j - 1 + state. Gaps are independent given the medoids, so the assignment is one small DP per gap.
//
// Background medoids ("slots") live in one flat array over the batch; slots [slot_begin[j], slot_end[j]) serve
// gap j's background (one per gap or several, or one slot serving every gap of the video: the layout is the
// Python layer's, ptal_core/reference/constrained_kmedoids.py:background_slots). A free snippet's background
// cost is its least distance to those slots, and its nearest slot the first achieving it.
#pragma once
#include <math.h>

#include <cstdint>

#include "common/host_device.h"

namespace ptal {

enum KMedoidsDistance : int { kCosine = 0, kEuclidean = 1 };
// Where the background medoids start: placed per gap (place_gap_slots), or one per video.
enum KMedoidsLayout : int { kGapLayout = 0, kVideoLayout = 1 };

// Distances, and sums of distances, are compared as integers: rounded (half to even) to multiples of
// 2^-20, so that sums do not depend on their order and backends agree to the last bit.
constexpr double kDistanceScale = 1048576.0;
// Norms below this floor count as the floor (a zero feature is at cosine distance 1 from everything).
constexpr double kNormFloor = 1e-12;

PTAL_HD int64_t quantize(double distance) { return llrint(distance * kDistanceScale); }

PTAL_HD int64_t min_int64(int64_t a, int64_t b) { return a < b ? a : b; }

// sum_e a[e] * b[e] in float64 in a fixed order: 8 interleaved partial sums, combined pairwise.
template <typename A, typename B>
PTAL_HD double dot(const A* a, const B* b, int64_t size) {
  double partial[8] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
  int64_t e = 0;
  for (; e + 8 <= size; e += 8)
    for (int k = 0; k < 8; ++k) partial[k] += static_cast<double>(a[e + k]) * static_cast<double>(b[e + k]);
  for (int k = 0; e < size; ++e, ++k) partial[k] += static_cast<double>(a[e]) * static_cast<double>(b[e]);
  return ((partial[0] + partial[1]) + (partial[2] + partial[3])) +
         ((partial[4] + partial[5]) + (partial[6] + partial[7]));
}

// |a - b| in float64, summed in dot's order.
template <typename T>
PTAL_HD double euclidean(const T* a, const T* b, int64_t size) {
  double partial[8] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
  int64_t e = 0;
  for (; e + 8 <= size; e += 8)
    for (int k = 0; k < 8; ++k) {
      const double difference = static_cast<double>(a[e + k]) - static_cast<double>(b[e + k]);
      partial[k] += difference * difference;
    }
  for (int k = 0; e < size; ++e, ++k) {
    const double difference = static_cast<double>(a[e]) - static_cast<double>(b[e]);
    partial[k] += difference * difference;
  }
  return sqrt(((partial[0] + partial[1]) + (partial[2] + partial[3])) +
              ((partial[4] + partial[5]) + (partial[6] + partial[7])));
}

// One video's features (length, dim) and, for the cosine distance, their norms (floored).
template <typename T>
struct VideoFeatures {
  const T* x;
  const double* norms;
  int64_t dim;
  int distance;

  PTAL_HD const T* row(int64_t t) const { return x + t * dim; }
  PTAL_HD double floored_norm(int64_t t) const { return norms[t] > kNormFloor ? norms[t] : kNormFloor; }
  // Component e of snippet t's unit feature (cosine only).
  PTAL_HD double unit(int64_t t, int64_t e) const { return static_cast<double>(x[t * dim + e]) / floored_norm(t); }

  PTAL_HD double between(int64_t a, int64_t b) const {
    if (distance == kEuclidean) return euclidean(row(a), row(b), dim);
    return 1.0 - dot(row(a), row(b), dim) / (floored_norm(a) * floored_norm(b));
  }

  // Sum of the distances from snippet a to members[0 .. count), itself included if it is one. For the
  // cosine distance, unit_sum (dim) must hold the sum of the members' unit features: sum_j (1 - u_a . u_j)
  // = count - u_a . unit_sum, in O(dim).
  PTAL_HD double summed(int64_t a, const int64_t* members, int64_t count, const double* unit_sum) const {
    if (distance == kCosine) return static_cast<double>(count) - dot(row(a), unit_sum, dim) / floored_norm(a);
    double total = 0.0;
    for (int64_t k = 0; k < count; ++k) total += euclidean(row(a), row(members[k]), dim);
    return total;
  }
};

// Number of valid points of a (max_points,) row padded with -1.
PTAL_HD int64_t count_points(const int64_t* points, int64_t max_points) {
  int64_t n = 0;
  while (n < max_points && points[n] >= 0) ++n;
  return n;
}

// The gap of snippet t: the number of points at or before t.
PTAL_HD int64_t gap_of(const int64_t* points, int64_t n, int64_t t) {
  int64_t lo = 0, hi = n;
  while (lo < hi) {
    const int64_t mid = (lo + hi) / 2;
    if (points[mid] <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// The states open to the free snippets of gap j of n.
PTAL_HD int first_state(int64_t j) { return j == 0 ? 1 : 0; }
PTAL_HD int last_state(int64_t j, int64_t n) { return j == n ? 1 : 2; }

// The least rounded distance of snippet t to slots [begin, end) (end > begin); `nearest` receives the first
// slot achieving it.
template <typename T>
PTAL_HD int64_t nearest_slot(const VideoFeatures<T>& video, int64_t t, const int64_t* slots, int64_t begin,
                             int64_t end, int64_t& nearest) {
  int64_t best = quantize(video.between(t, slots[begin]));
  nearest = begin;
  for (int64_t s = begin + 1; s < end; ++s) {
    const int64_t value = quantize(video.between(t, slots[s]));
    if (value < best) best = value, nearest = s;
  }
  return best;
}

// costs[3t + state]: the rounded distance of free snippet t to the medoid of each of its open states (the
// background: to its nearest slot, which nearest[t] receives).
template <typename T>
PTAL_HD void snippet_costs(const VideoFeatures<T>& video, const int64_t* points, int64_t n,
                           const int64_t* action_medoids, const int64_t* slots, const int64_t* slot_begin,
                           const int64_t* slot_end, int64_t t, int64_t* costs, int64_t* nearest) {
  const int64_t j = gap_of(points, n, t);
  if (j > 0 && points[j - 1] == t) return;  // a point: its cluster is fixed
  costs[3 * t + 1] = nearest_slot(video, t, slots, slot_begin[j], slot_end[j], nearest[t]);
  if (j > 0) costs[3 * t] = quantize(video.between(t, action_medoids[j - 1]));
  if (j < n) costs[3 * t + 2] = quantize(video.between(t, action_medoids[j]));
}

// The optimal monotone assignment of gap j's free snippets [first, last] to its open states, given their
// costs (overwritten by the suffix optima). clusters[t] receives 2j - 1 + state. Ties: at every snippet the
// latest state among the optimal ones, i.e. the lexicographically smallest boundaries (earliest advance).
PTAL_HD void assign_gap(int64_t j, int64_t n, int64_t first, int64_t last, int64_t* costs, int64_t* clusters) {
  const int lowest = first_state(j), highest = last_state(j, n);
  // costs[3t + s] += min over s' >= s of the (updated) costs of snippet t + 1.
  for (int64_t t = last - 1; t >= first; --t) {
    int64_t best_after = costs[3 * (t + 1) + highest];
    for (int s = highest; s >= lowest; --s) {
      if (costs[3 * (t + 1) + s] < best_after) best_after = costs[3 * (t + 1) + s];
      costs[3 * t + s] += best_after;
    }
  }
  int state = lowest;
  for (int64_t t = first; t <= last; ++t) {
    int best = highest;
    for (int s = highest - 1; s >= state; --s)
      if (costs[3 * t + s] < costs[3 * t + best]) best = s;
    state = best;
    clusters[t] = 2 * j - 1 + state;
  }
}

// The free snippets [first, last] of gap j (empty when first > last).
PTAL_HD void gap_bounds(const int64_t* points, int64_t n, int64_t length, int64_t j, int64_t& first, int64_t& last) {
  first = j == 0 ? 0 : points[j - 1] + 1;
  last = j == n ? length - 1 : points[j] - 1;
}

// Action cluster i (0-based: act_{i+1}, cluster 2i + 1) is the run of that cluster around its point.
PTAL_HD void action_bounds(const int64_t* clusters, int64_t length, int64_t point, int64_t cluster, int64_t& start,
                           int64_t& end) {
  start = end = point;
  while (start > 0 && clusters[start - 1] == cluster) --start;
  while (end + 1 < length && clusters[end + 1] == cluster) ++end;
}

// Gap j's slots [begin, end) placed one after the other at its free snippet farthest from the medoids placed
// so far, its neighbouring points included (largest least rounded distance; ties to the lowest snippet; each
// snippet once). `scratch` is indexed by snippet (the gap's entries are overwritten).
template <typename T>
PTAL_HD void place_gap_slots(const VideoFeatures<T>& video, const int64_t* points, int64_t n, int64_t length,
                             int64_t j, int64_t begin, int64_t end, int64_t* slots, int64_t* scratch) {
  constexpr int64_t kPlaced = -1;  // distances are >= 0
  int64_t first, last;
  gap_bounds(points, n, length, j, first, last);
  for (int64_t t = first; t <= last; ++t) {
    int64_t least = INT64_MAX;
    if (j > 0) least = min_int64(least, quantize(video.between(t, points[j - 1])));
    if (j < n) least = min_int64(least, quantize(video.between(t, points[j])));
    scratch[t] = least;
  }
  for (int64_t s = begin; s < end; ++s) {
    int64_t best = -1;
    for (int64_t t = first; t <= last; ++t)
      if (scratch[t] != kPlaced && (best < 0 || scratch[t] > scratch[best])) best = t;
    slots[s] = best;
    scratch[best] = kPlaced;
    if (s + 1 < end)
      for (int64_t t = first; t <= last; ++t)
        if (scratch[t] != kPlaced) scratch[t] = min_int64(scratch[t], quantize(video.between(t, best)));
  }
}

// The members of each slot s in [first_slot, first_slot + num_slots): the first `sample` background snippets
// (even clusters) nearest to it in the random order `order` (a permutation of the padded positions 0 ..
// max_length), grouped by slot in members[offsets[s] .. offsets[s] + counts[s]) (s relative to first_slot).
PTAL_HD void slot_members(const int64_t* order, int64_t max_length, const int64_t* clusters, const int64_t* nearest,
                          int64_t length, int64_t first_slot, int64_t num_slots, int64_t sample, int64_t* counts,
                          int64_t* offsets, int64_t* members) {
  for (int64_t s = 0; s < num_slots; ++s) counts[s] = 0;
  for (int64_t k = 0; k < max_length; ++k) {
    const int64_t t = order[k];
    if (t < length && clusters[t] % 2 == 0 && counts[nearest[t] - first_slot] < sample)
      ++counts[nearest[t] - first_slot];
  }
  int64_t total = 0;
  for (int64_t s = 0; s < num_slots; ++s) offsets[s] = total, total += counts[s], counts[s] = 0;
  for (int64_t k = 0; k < max_length; ++k) {
    const int64_t t = order[k];
    if (t >= length || clusters[t] % 2 != 0) continue;
    const int64_t s = nearest[t] - first_slot;
    if (counts[s] < sample) members[offsets[s] + counts[s]++] = t;
  }
}

// Whether (value, index) beats (best_value, best_index): smaller value (larger when `largest`), ties to
// the lower index.
PTAL_HD bool improves(int64_t value, int64_t index, int64_t best_value, int64_t best_index, bool largest) {
  if (value != best_value) return largest ? value > best_value : value < best_value;
  return index < best_index;
}

}  // namespace ptal
