#include <vector>

#include "common/iou.h"
#include "cpu/start_index.h"
#include "kernels_cpu.h"

namespace ptal::cpu {

template <typename T>
void temporal_nms(const T* segments, const T* scores, const int64_t* group_offsets, int64_t num_groups,
                  T iou_threshold, T length_offset, T union_epsilon, bool suppress_at_threshold, int64_t* out_rows,
                  int64_t* out_counts) {
  // IoU >= 0 suppresses every other segment; any other test needs IoU > 0, i.e. an intersection
  // min(ends) - max(starts) + length_offset > 0, which only segments within 2 * length_offset of each other have.
  const bool everything_suppresses = suppress_at_threshold && iou_threshold <= T(0);
  const T slack = 2 * length_offset;
#pragma omp parallel for schedule(dynamic, 4) if (num_groups > 1)
  for (int64_t g = 0; g < num_groups; ++g) {
    const int64_t begin = group_offsets[g], n = group_offsets[g + 1] - begin;
    out_counts[g] = 0;
    if (n == 0) continue;
    // Rows by decreasing score, ties by lower row.
    const std::vector<int64_t> order = sorted_rows(scores + begin, 1, n, true);
    int64_t count = 0;
    if (everything_suppresses) {
      out_rows[begin + count++] = begin + order[0];
      out_counts[g] = count;
      continue;
    }
    const StartIndex<T> index(segments + 2 * begin, n);
    std::vector<int64_t> position(n), rank(n);  // rank: by position in `index`
    for (int64_t k = 0; k < n; ++k) position[index.row[k]] = k;
    for (int64_t i = 0; i < n; ++i) rank[position[order[i]]] = i;
    std::vector<uint8_t> suppressed(n, 0);  // by position
    for (int64_t i = 0; i < n; ++i) {
      const int64_t p = position[order[i]];
      if (suppressed[p]) continue;
      out_rows[begin + count++] = begin + order[i];
      const T s = index.start[p], e = index.end[p];
      int64_t first, last;
      index.window(s - slack, e + slack, first, last);
      for (int64_t k = first; k < last; ++k) {
        if (rank[k] <= i || suppressed[k]) continue;
        const T iou = ptal::segment_iou(s, e, index.start[k], index.end[k], length_offset, union_epsilon);
        if (suppresses(iou, iou_threshold, suppress_at_threshold)) suppressed[k] = 1;
      }
    }
    out_counts[g] = count;
  }
}

template void temporal_nms<float>(const float*, const float*, const int64_t*, int64_t, float, float, float, bool,
                                  int64_t*, int64_t*);
template void temporal_nms<double>(const double*, const double*, const int64_t*, int64_t, double, double, double, bool,
                                   int64_t*, int64_t*);

}  // namespace ptal::cpu
