#include "common/iou.h"
#include "kernels_cpu.h"

namespace ptal::cpu {

template <typename T>
void segment_iou(const T* a, int64_t m, const T* b, int64_t n, T length_offset, T* out) {
#pragma omp parallel for schedule(static) if (m * n > 16384)
  for (int64_t i = 0; i < m; ++i) {
    const T s1 = a[2 * i], e1 = a[2 * i + 1];
    T* row = out + i * n;
    for (int64_t j = 0; j < n; ++j) row[j] = ptal::segment_iou(s1, e1, b[2 * j], b[2 * j + 1], length_offset);
  }
}

template void segment_iou<float>(const float*, int64_t, const float*, int64_t, float, float*);
template void segment_iou<double>(const double*, int64_t, const double*, int64_t, double, double*);

}  // namespace ptal::cpu
