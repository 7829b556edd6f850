#include <algorithm>
#include <numeric>
#include <vector>

#include "common/iou.h"
#include "kernels_cpu.h"

namespace ptal::cpu {

template <typename T>
void temporal_nms(const T* segments, const T* scores, const int64_t* group_offsets, int64_t num_groups,
                  T iou_threshold, T length_offset, bool suppress_at_threshold, uint8_t* keep) {
#pragma omp parallel for schedule(dynamic, 4)
  for (int64_t g = 0; g < num_groups; ++g) {
    const int64_t begin = group_offsets[g], n = group_offsets[g + 1] - begin;
    std::vector<int64_t> order(n);
    std::iota(order.begin(), order.end(), begin);
    std::stable_sort(order.begin(), order.end(), [scores](int64_t a, int64_t b) { return scores[a] > scores[b]; });
    std::vector<uint8_t> suppressed(n, 0);  // by position in `order`
    for (int64_t i = 0; i < n; ++i) {
      if (suppressed[i]) continue;
      const int64_t row = order[i];
      keep[row] = 1;
      const T s = segments[2 * row], e = segments[2 * row + 1];
      for (int64_t j = i + 1; j < n; ++j) {
        if (suppressed[j]) continue;
        const T iou = ptal::segment_iou(s, e, segments[2 * order[j]], segments[2 * order[j] + 1], length_offset);
        if (suppresses(iou, iou_threshold, suppress_at_threshold)) suppressed[j] = 1;
      }
    }
  }
}

template void temporal_nms<float>(const float*, const float*, const int64_t*, int64_t, float, float, bool, uint8_t*);
template void temporal_nms<double>(const double*, const double*, const int64_t*, int64_t, double, double, bool,
                                   uint8_t*);

}  // namespace ptal::cpu
