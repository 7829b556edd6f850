#include <cstdint>

#include "common/iou.h"
#include "cuda/launch.cuh"
#include "kernels_cuda.h"

namespace ptal::cuda {
namespace {

constexpr int kThreads = 256;

// The better of two candidates: higher score, then lower row; row -1 is "none".
__device__ __forceinline__ void take_better(double& score, int64_t& row, double other_score, int64_t other_row) {
  if (other_row < 0) return;
  if (row < 0 || other_score > score || (other_score == score && other_row < row)) {
    score = other_score;
    row = other_row;
  }
}

// One block per group: repeatedly select the highest remaining score (ties: lowest row), then decay
// every remaining score by its IoU with the selected segment. Selected rows are marked -inf in `work`.
// Each thread tracks the best of its own rows while it decays them; a block reduction picks the winner.
template <typename T>
__global__ void soft_nms_kernel(const T* segments, const T* scores, const int64_t* group_offsets, int method,
                                double sigma, double iou_threshold, double min_score, int64_t max_keep,
                                double union_epsilon, double* work, int64_t* out_rows, double* out_scores,
                                int64_t* out_counts) {
  __shared__ double best_scores[kThreads];
  __shared__ int64_t best_rows[kThreads];
  const int64_t g = blockIdx.x;
  const int64_t begin = group_offsets[g], end = group_offsets[g + 1];
  double score = 0.0;
  int64_t row = -1;
  for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) {
    work[i] = static_cast<double>(scores[i]);
    take_better(score, row, work[i], i);
  }

  int64_t count = 0;
  while (count < max_keep) {
    best_scores[threadIdx.x] = score;
    best_rows[threadIdx.x] = row;
    __syncthreads();
    for (int stride = blockDim.x / 2; stride > 0; stride /= 2) {
      if (threadIdx.x < stride) {
        take_better(score, row, best_scores[threadIdx.x + stride], best_rows[threadIdx.x + stride]);
        best_scores[threadIdx.x] = score;
        best_rows[threadIdx.x] = row;
      }
      __syncthreads();
    }
    const int64_t best = best_rows[0];
    const double best_score = best_scores[0];
    __syncthreads();  // everyone has read the winner before the next round overwrites it
    if (best < 0 || !(best_score >= min_score)) break;  // NaN stops too, as on the CPU
    if (threadIdx.x == 0) {
      out_rows[begin + count] = best;
      out_scores[begin + count] = best_score;
    }
    ++count;
    const double s = segments[2 * best], e = segments[2 * best + 1];
    score = 0.0;
    row = -1;
    for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) {
      if (i == best) work[i] = -INFINITY;
      if (work[i] == -INFINITY) continue;
      const double si = segments[2 * i], ei = segments[2 * i + 1];
      if (overlap(s, e, si, ei)) {  // otherwise IoU = 0 and the weight is exactly 1
        const double iou = segment_iou<double>(s, e, si, ei, 0.0, union_epsilon);
        work[i] *= soft_nms_weight(iou, method, sigma, iou_threshold);
      }
      take_better(score, row, work[i], i);
    }
  }
  if (threadIdx.x == 0) out_counts[g] = count;
}

}  // namespace

template <typename T>
void soft_nms(const T* segments, const T* scores, const int64_t* group_offsets, int64_t num_groups, int method,
              double sigma, double iou_threshold, double min_score, int64_t max_keep, double union_epsilon,
              double* work, int64_t* out_rows, double* out_scores, int64_t* out_counts, void* stream) {
  if (num_groups == 0) return;
  launch("soft_nms", soft_nms_kernel<T>, num_groups, kThreads, 0, stream, segments, scores, group_offsets, method,
         sigma, iou_threshold, min_score, max_keep, union_epsilon, work, out_rows, out_scores, out_counts);
}

template void soft_nms<float>(const float*, const float*, const int64_t*, int64_t, int, double, double, double,
                              int64_t, double, double*, int64_t*, double*, int64_t*, void*);
template void soft_nms<double>(const double*, const double*, const int64_t*, int64_t, int, double, double, double,
                               int64_t, double, double*, int64_t*, double*, int64_t*, void*);

}  // namespace ptal::cuda
