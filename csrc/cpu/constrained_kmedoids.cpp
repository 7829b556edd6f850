#include <algorithm>
#include <cmath>
#include <vector>

#include "common/kmedoids.h"
#include "kernels_cpu.h"

namespace ptal::cpu {
namespace {

// The member of members[0 .. count) with the smallest rounded summed distance to all of them (the largest
// when `farthest`); ties to the lowest snippet index. `unit_sum` (dim) is scratch.
template <typename T>
int64_t medoid(const VideoFeatures<T>& video, const int64_t* candidates, int64_t num_candidates,
               const int64_t* members, int64_t count, bool farthest, std::vector<double>& unit_sum) {
  if (video.distance == kCosine) {
    std::fill(unit_sum.begin(), unit_sum.end(), 0.0);
    for (int64_t k = 0; k < count; ++k)
      for (int64_t e = 0; e < video.dim; ++e) unit_sum[e] += video.unit(members[k], e);
  }
  int64_t best = -1, best_value = 0;
  for (int64_t k = 0; k < num_candidates; ++k) {
    const int64_t value = quantize(video.summed(candidates[k], members, count, unit_sum.data()));
    if (best < 0 || improves(value, candidates[k], best_value, best, farthest)) {
      best = candidates[k];
      best_value = value;
    }
  }
  return best;
}

template <typename T>
void cluster_video(const VideoFeatures<T>& video, const int64_t* points, int64_t max_points, int64_t length,
                   const int64_t* order, int64_t max_length, const int64_t* slot_begin, const int64_t* slot_end,
                   int layout, bool fix_actions, int64_t max_iter, int64_t background_sample, int64_t* clusters,
                   int64_t* medoids, int64_t* slots, int64_t* iterations) {
  const int64_t n = count_points(points, max_points);
  if (n == 0) {
    std::fill(clusters, clusters + length, 0);
    *iterations = 0;
    return;
  }
  const int64_t first_slot = slot_begin[0], num_slots = slot_end[n] - first_slot;
  std::vector<double> unit_sum(video.dim);
  std::vector<int64_t> snippets(length), members(length), costs(3 * length), previous(length), nearest(length);
  std::vector<int64_t> slot_counts(num_slots), slot_offsets(num_slots);
  for (int64_t t = 0; t < length; ++t) snippets[t] = t;
  std::copy(points, points + n, medoids);
  if (layout == kVideoLayout)
    slots[first_slot] = medoid(video, snippets.data(), length, points, n, /*farthest=*/true, unit_sum);
  else
    for (int64_t j = 0; j <= n; ++j)
      place_gap_slots(video, points, n, length, j, slot_begin[j], slot_end[j], slots, costs.data());
  for (int64_t i = 0; i < n; ++i) clusters[points[i]] = 2 * i + 1;

  for (int64_t iteration = 1;; ++iteration) {
    for (int64_t t = 0; t < length; ++t)
      snippet_costs(video, points, n, medoids, slots, slot_begin, slot_end, t, costs.data(), nearest.data());
    for (int64_t j = 0; j <= n; ++j) {
      int64_t first, last;
      gap_bounds(points, n, length, j, first, last);
      if (first <= last) assign_gap(j, n, first, last, costs.data(), clusters);
    }
    *iterations = iteration;
    if ((iteration > 1 && std::equal(clusters, clusters + length, previous.begin())) || iteration == max_iter) return;
    std::copy(clusters, clusters + length, previous.begin());

    if (!fix_actions)
      for (int64_t i = 0; i < n; ++i) {
        int64_t start, end;
        action_bounds(clusters, length, points[i], 2 * i + 1, start, end);
        const int64_t* cluster = snippets.data() + start;
        medoids[i] = medoid(video, cluster, end - start + 1, cluster, end - start + 1, false, unit_sum);
      }
    slot_members(order, max_length, clusters, nearest.data(), length, first_slot, num_slots, background_sample,
                 slot_counts.data(), slot_offsets.data(), members.data());
    for (int64_t s = 0; s < num_slots; ++s) {
      const int64_t* group = members.data() + slot_offsets[s];
      if (slot_counts[s] > 0)
        slots[first_slot + s] = medoid(video, group, slot_counts[s], group, slot_counts[s], false, unit_sum);
    }
  }
}

}  // namespace

template <typename T>
void constrained_kmedoids(const T* features, const int64_t* points, const int64_t* lengths, const int64_t* order,
                          int64_t batch, int64_t max_length, int64_t dim, int64_t max_points, int distance,
                          const int64_t* slot_begin, const int64_t* slot_end, int layout, bool fix_actions,
                          int64_t max_iter, int64_t background_sample, int64_t* clusters, int64_t* medoids,
                          int64_t* slots, int64_t* iterations) {
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t v = 0; v < batch; ++v) {
    const int64_t length = lengths[v];
    const T* x = features + v * max_length * dim;
    std::vector<double> norms(distance == kCosine ? length : 0);
    for (int64_t t = 0; t < static_cast<int64_t>(norms.size()); ++t)
      norms[t] = std::sqrt(dot(x + t * dim, x + t * dim, dim));
    const VideoFeatures<T> video{x, norms.data(), dim, distance};
    cluster_video(video, points + v * max_points, max_points, length, order, max_length,
                  slot_begin + v * (max_points + 1), slot_end + v * (max_points + 1), layout, fix_actions, max_iter,
                  background_sample, clusters + v * max_length, medoids + v * max_points, slots, iterations + v);
  }
}

#define PTAL_INSTANTIATE(T)                                                                                         \
  template void constrained_kmedoids<T>(const T*, const int64_t*, const int64_t*, const int64_t*, int64_t, int64_t, \
                                        int64_t, int64_t, int, const int64_t*, const int64_t*, int, bool, int64_t,  \
                                        int64_t, int64_t*, int64_t*, int64_t*, int64_t*);
PTAL_INSTANTIATE(float)
PTAL_INSTANTIATE(double)

}  // namespace ptal::cpu
