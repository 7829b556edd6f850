#include <cmath>

#include "common/iou.h"
#include "kernels_cpu.h"

namespace ptal::cpu {

template <typename T>
void soft_nms(const T* segments, const T* scores, const int64_t* group_offsets, int64_t num_groups,
              int method, double sigma, double iou_threshold, double min_score, int64_t max_keep,
              double* work, int64_t* out_rows, double* out_scores, int64_t* out_counts) {
#pragma omp parallel for schedule(dynamic, 4)
  for (int64_t g = 0; g < num_groups; ++g) {
    const int64_t begin = group_offsets[g], end = group_offsets[g + 1];
    // work[i] is row i's current score, -inf once it has been selected. `best` is the highest
    // remaining score, ties by lower row (the scans run in row order and only a strictly higher
    // score replaces the best so far).
    int64_t best = -1;
    for (int64_t i = begin; i < end; ++i) {
      work[i] = static_cast<double>(scores[i]);
      if (best < 0 || work[i] > work[best]) best = i;
    }
    int64_t count = 0;
    while (count < max_keep && best >= 0 && work[best] >= min_score) {
      out_rows[begin + count] = best;
      out_scores[begin + count] = work[best];
      ++count;
      work[best] = -INFINITY;
      const double s = segments[2 * best], e = segments[2 * best + 1];
      best = -1;
      for (int64_t i = begin; i < end; ++i) {
        if (work[i] == -INFINITY) continue;
        const double si = segments[2 * i], ei = segments[2 * i + 1];
        if (overlap(s, e, si, ei))  // otherwise IoU = 0 and the weight is exactly 1
          work[i] *= soft_nms_weight(ptal::segment_iou<double>(s, e, si, ei, 0.0), method, sigma, iou_threshold);
        if (best < 0 || work[i] > work[best]) best = i;
      }
    }
    out_counts[g] = count;
  }
}

template void soft_nms<float>(const float*, const float*, const int64_t*, int64_t, int, double, double,
                              double, int64_t, double*, int64_t*, double*, int64_t*);
template void soft_nms<double>(const double*, const double*, const int64_t*, int64_t, int, double, double,
                               double, int64_t, double*, int64_t*, double*, int64_t*);

}  // namespace ptal::cpu
