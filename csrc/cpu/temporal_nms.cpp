#include <vector>

#include "common/iou.h"
#include "kernels_cpu.h"

namespace ptal::cpu {

template <typename T>
void temporal_nms(const T* segments, const int64_t* group_offsets, int64_t num_groups, T iou_threshold,
                  T length_offset, bool suppress_at_threshold, uint8_t* keep) {
#pragma omp parallel for schedule(dynamic, 4)
  for (int64_t g = 0; g < num_groups; ++g) {
    const int64_t begin = group_offsets[g], end = group_offsets[g + 1];
    std::vector<uint8_t> suppressed(end - begin, 0);
    for (int64_t i = begin; i < end; ++i) {
      if (suppressed[i - begin]) continue;
      keep[i] = 1;
      const T s = segments[2 * i], e = segments[2 * i + 1];
      for (int64_t j = i + 1; j < end; ++j) {
        if (suppressed[j - begin]) continue;
        const T iou = ptal::segment_iou(s, e, segments[2 * j], segments[2 * j + 1], length_offset);
        if (suppresses(iou, iou_threshold, suppress_at_threshold)) suppressed[j - begin] = 1;
      }
    }
  }
}

template void temporal_nms<float>(const float*, const int64_t*, int64_t, float, float, bool, uint8_t*);
template void temporal_nms<double>(const double*, const int64_t*, int64_t, double, double, bool, uint8_t*);

}  // namespace ptal::cpu
