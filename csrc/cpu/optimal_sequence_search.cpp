#include <vector>

#include "common/sequence_search.h"
#include "kernels_cpu.h"

namespace ptal::cpu {

template <typename T>
void optimal_sequence_search_exact(const T* cas, const uint8_t* act_seed, const uint8_t* background_seed,
                                   const uint8_t* any_action, const int64_t* lengths, const int64_t* pairs,
                                   int64_t num_pairs, int64_t max_length, int64_t num_classes, int64_t cas_channels,
                                   double outer_ratio, uint8_t* pseudo_labels, double* pair_scores,
                                   int64_t* pair_segments) {
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t pair = 0; pair < num_pairs; ++pair) {
    const int64_t video = pairs[2 * pair], cls = pairs[2 * pair + 1], length = lengths[video];
    const int64_t row = video * max_length;
    auto is_action = [&](int64_t t) { return act_seed[(row + t) * num_classes + cls] != 0; };
    auto is_background = [&](int64_t t) {
      return background_seed[row + t] != 0 || (any_action[row + t] != 0 && !is_action(t));
    };
    std::vector<uint8_t> labels(length);
    std::vector<int64_t> lo(length), hi(length);
    const int64_t n = build_transcript(length, is_action, is_background, labels.data(), lo.data(), hi.data());
    pair_segments[pair] = n;
    if (n < 0) continue;

    std::vector<double> prefix_action(length + 1), prefix_background(length + 1);
    prefix_action[0] = prefix_background[0] = 0.0;
    for (int64_t t = 0; t < length; ++t) {
      const double p = static_cast<double>(cas[(row + t) * cas_channels + cls]);
      prefix_action[t + 1] = prefix_action[t] + p;
      prefix_background[t + 1] = prefix_background[t] + (1.0 - p);
    }
    // best[b]: best total OIC of segments k..n-1 when segment k starts at b (the start ranges of
    // different segments are disjoint); next[b]: the earliest next start achieving it.
    std::vector<double> best(length);
    std::vector<int64_t> next(length);
    const double* prefix[2] = {prefix_background.data(), prefix_action.data()};
    for (int64_t b = first_start(hi.data(), n - 1); b <= last_start(lo.data(), n - 1); ++b)
      best[b] = oic_from_prefix(prefix[labels[n - 1]], b, length - 1, length, outer_ratio);
    for (int64_t k = n - 2; k >= 0; --k) {
      for (int64_t b = first_start(hi.data(), k); b <= last_start(lo.data(), k); ++b) {
        double top = 0.0;
        int64_t arg = -1;
        for (int64_t b2 = first_start(hi.data(), k + 1); b2 <= last_start(lo.data(), k + 1); ++b2) {
          const double total = transition(prefix[0], prefix[1], labels.data(), best.data(), k, b, b2, length,
                                          outer_ratio);
          if (arg < 0 || total > top) top = total, arg = b2;
        }
        best[b] = top;
        next[b] = arg;
      }
    }
    pair_scores[pair] = best[0] / static_cast<double>(n);
    int64_t start = 0;
    for (int64_t k = 0; k < n; ++k) {
      const int64_t end = k + 1 < n ? next[start] : length;
      if (labels[k] == kAction)
        for (int64_t t = start; t < end; ++t) pseudo_labels[(row + t) * num_classes + cls] = 1;
      start = end;
    }
  }
}

template void optimal_sequence_search_exact<float>(const float*, const uint8_t*, const uint8_t*, const uint8_t*,
                                                   const int64_t*, const int64_t*, int64_t, int64_t, int64_t,
                                                   int64_t, double, uint8_t*, double*, int64_t*);
template void optimal_sequence_search_exact<double>(const double*, const uint8_t*, const uint8_t*, const uint8_t*,
                                                    const int64_t*, const int64_t*, int64_t, int64_t, int64_t,
                                                    int64_t, double, uint8_t*, double*, int64_t*);

}  // namespace ptal::cpu
