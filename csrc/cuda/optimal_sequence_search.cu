#include <cstdint>

#include "common/sequence_search.h"
#include "cuda/launch.cuh"
#include "kernels_cuda.h"

namespace ptal::cuda {
namespace {

constexpr int kThreads = 128;

// One block per (video, class) pair (video -1: nothing to do). Thread 0 builds the transcript and the prefix sums (sequentially,
// so that the sums round exactly as in the C++ kernel); then, from the last segment backwards, the
// threads share the admissible starts b of segment k and each scans the next segment's starts.
template <typename T>
__global__ void exact_search_kernel(const T* cas, const uint8_t* act_seed, const uint8_t* background_seed,
                                    const uint8_t* any_action, const int64_t* lengths, const int64_t* pairs,
                                    const int64_t* work_offsets, int64_t max_length, int64_t num_classes,
                                    int64_t cas_channels, double outer_ratio, double* prefix_action,
                                    double* prefix_background, double* best, int64_t* next, uint8_t* labels,
                                    int64_t* lo, int64_t* hi, uint8_t* pseudo_labels, double* pair_scores,
                                    int64_t* pair_segments) {
  __shared__ int64_t num_segments;
  const int64_t pair = blockIdx.x;
  if (pairs[2 * pair] < 0) return;  // a (video, class) slot that is not searched
  const int64_t video = pairs[2 * pair], cls = pairs[2 * pair + 1], length = lengths[video];
  const int64_t row = video * max_length, base = work_offsets[pair];
  prefix_action += base, prefix_background += base, best += base, next += base;
  labels += base, lo += base, hi += base;

  if (threadIdx.x == 0) {
    const PairSeeds seeds{act_seed, background_seed, any_action, row, cls, num_classes};
    num_segments = build_transcript(length, seeds, labels, lo, hi);
    const bool finite = class_prefix_sums(cas, row, cls, cas_channels, length, prefix_action, prefix_background);
    if (!finite && num_segments >= 0) num_segments = kNotFinite;
    pair_segments[pair] = num_segments;
  }
  __syncthreads();
  const int64_t n = num_segments;
  if (n < 0) return;

  for (int64_t b = first_start(hi, n - 1) + threadIdx.x; b <= last_start(lo, n - 1); b += blockDim.x)
    best[b] = last_segment_value(prefix_background, prefix_action, labels, n, b, length, outer_ratio);
  __syncthreads();
  for (int64_t k = n - 2; k >= 0; --k) {
    for (int64_t b = first_start(hi, k) + threadIdx.x; b <= last_start(lo, k); b += blockDim.x)
      dp_step(prefix_background, prefix_action, labels, lo, hi, k, b, length, outer_ratio, best, next);
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    pair_scores[pair] = best[0] / static_cast<double>(n);
    write_exact_labels(labels, n, next, length, row, cls, num_classes, pseudo_labels);
  }
}

}  // namespace

template <typename T>
void optimal_sequence_search_exact(const T* cas, const uint8_t* act_seed, const uint8_t* background_seed,
                                   const uint8_t* any_action, const int64_t* lengths, const int64_t* pairs,
                                   int64_t num_pairs, int64_t max_length, int64_t num_classes, int64_t cas_channels,
                                   double outer_ratio, const int64_t* work_offsets, double* prefix_action,
                                   double* prefix_background, double* best, int64_t* next, uint8_t* labels,
                                   int64_t* lo, int64_t* hi, uint8_t* pseudo_labels, double* pair_scores,
                                   int64_t* pair_segments, void* stream) {
  if (num_pairs == 0) return;
  launch("optimal_sequence_search (exact)", exact_search_kernel<T>, num_pairs, kThreads, 0, stream, cas, act_seed,
         background_seed, any_action, lengths, pairs, work_offsets, max_length, num_classes, cas_channels,
         outer_ratio, prefix_action, prefix_background, best, next, labels, lo, hi, pseudo_labels, pair_scores,
         pair_segments);
}

#define PTAL_INSTANTIATE(T)                                                                                       \
  template void optimal_sequence_search_exact<T>(const T*, const uint8_t*, const uint8_t*, const uint8_t*,        \
                                                 const int64_t*, const int64_t*, int64_t, int64_t, int64_t, int64_t, \
                                                 double, const int64_t*, double*, double*, double*, int64_t*,      \
                                                 uint8_t*, int64_t*, int64_t*, uint8_t*, double*, int64_t*, void*);
PTAL_INSTANTIATE(float)
PTAL_INSTANTIATE(double)

}  // namespace ptal::cuda
