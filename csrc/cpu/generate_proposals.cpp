#include <algorithm>
#include <limits>
#include <vector>

#include "kernels_cpu.h"

namespace ptal::cpu {
namespace {

// Boundary candidates of one video's probabilities p[0..length): a strict local maximum (a missing
// neighbour at either end counts as -inf) or above half the video's maximum.
template <typename T>
std::vector<uint8_t> boundary_candidates(const T* p, int64_t length) {
  std::vector<uint8_t> flags(length, 0);
  if (length == 0) return flags;
  const T half_max = T(0.5) * *std::max_element(p, p + length);
  const T outside = -std::numeric_limits<T>::infinity();
  for (int64_t t = 0; t < length; ++t) {
    const T before = t > 0 ? p[t - 1] : outside, after = t + 1 < length ? p[t + 1] : outside;
    flags[t] = (p[t] > before && p[t] > after) || p[t] > half_max;
  }
  return flags;
}

template <typename T>
struct Pair {
  T score;
  int64_t start, end;
};

}  // namespace

template <typename T>
void generate_proposals(const T* start_prob, const T* end_prob, const int64_t* lengths, int64_t num_videos,
                        int64_t num_snippets, int64_t d_min, int64_t d_max, int64_t capacity, int64_t* pairs,
                        T* scores, int64_t* counts) {
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t b = 0; b < num_videos; ++b) {
    const T* ps = start_prob + b * num_snippets;
    const T* pe = end_prob + b * num_snippets;
    const int64_t length = lengths[b];
    const std::vector<uint8_t> is_start = boundary_candidates(ps, length), is_end = boundary_candidates(pe, length);
    std::vector<Pair<T>> found;
    for (int64_t s = 0; s < length; ++s) {
      if (!is_start[s]) continue;
      for (int64_t e = s + d_min; e <= std::min(s + d_max, length - 1); ++e)
        if (is_end[e]) found.push_back({ps[s] * pe[e], s, e});
    }
    const int64_t kept = std::min<int64_t>(capacity, static_cast<int64_t>(found.size()));
    std::partial_sort(found.begin(), found.begin() + kept, found.end(), [](const Pair<T>& x, const Pair<T>& y) {
      if (x.score != y.score) return x.score > y.score;
      return x.start != y.start ? x.start < y.start : x.end < y.end;
    });
    for (int64_t r = 0; r < kept; ++r) {
      pairs[2 * (b * capacity + r)] = found[r].start;
      pairs[2 * (b * capacity + r) + 1] = found[r].end;
      scores[b * capacity + r] = found[r].score;
    }
    counts[b] = kept;
  }
}

template void generate_proposals<float>(const float*, const float*, const int64_t*, int64_t, int64_t, int64_t,
                                        int64_t, int64_t, int64_t*, float*, int64_t*);
template void generate_proposals<double>(const double*, const double*, const int64_t*, int64_t, int64_t, int64_t,
                                         int64_t, int64_t, int64_t*, double*, int64_t*);

}  // namespace ptal::cpu
