#include <cstdint>

#include "common/roi_align_1d.h"
#include "cuda/launch.cuh"
#include "kernels_cuda.h"

namespace ptal::cuda {
namespace {

constexpr int kThreads = 256;

// One thread per output value (RoI k, channel c, bin i).
template <typename T>
__global__ void roi_align_1d_kernel(const T* features, int64_t channels, int64_t length, const T* rois,
                                    int64_t num_rois, int64_t output_size, T spatial_scale, int64_t sampling_ratio,
                                    bool aligned, T* out) {
  const int64_t index = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (index >= num_rois * channels * output_size) return;
  const int64_t i = index % output_size;
  const int64_t c = (index / output_size) % channels;
  const int64_t k = index / (output_size * channels);
  const int64_t video = static_cast<int64_t>(rois[3 * k]);
  const RoiGrid<T> grid = roi_grid<T>(rois[3 * k + 1], rois[3 * k + 2], output_size, spatial_scale, sampling_ratio,
                                      aligned);
  const T* x = features + (video * channels + c) * length;
  T sum = T(0);
  for (int64_t j = 0; j < grid.samples; ++j) {
    const RoiSample<T> s = roi_sample(grid, i, j, length);
    sum += s.left_weight * x[s.left] + s.right_weight * x[s.right];
  }
  out[index] = sum / grid.count;
}

// One thread per (video, channel) row of the gradient, which it alone writes: RoI by RoI of its video in
// their order, bin by bin, sample by sample, as the CPU kernel (deterministic, no atomics).
template <typename T>
__global__ void roi_align_1d_backward_kernel(const T* grad_out, int64_t num_videos, int64_t channels, int64_t length,
                                             const T* rois, const int64_t* by_video, const int64_t* video_offsets,
                                             int64_t output_size, T spatial_scale, int64_t sampling_ratio,
                                             bool aligned, T* grad_features) {
  const int64_t row = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (row >= num_videos * channels) return;
  const int64_t video = row / channels;
  roi_align_1d_gradient_row(grad_out, channels, row % channels, rois, by_video, video_offsets[video],
                            video_offsets[video + 1], output_size, spatial_scale, sampling_ratio, aligned, length,
                            grad_features + row * length);
}

int64_t blocks_for(int64_t n) { return (n + kThreads - 1) / kThreads; }

}  // namespace

template <typename T>
void roi_align_1d(const T* features, int64_t channels, int64_t length, const T* rois, int64_t num_rois,
                  int64_t output_size, double spatial_scale, int64_t sampling_ratio, bool aligned, T* out,
                  void* stream) {
  const int64_t n = num_rois * channels * output_size;
  if (n == 0) return;
  launch("roi_align_1d", roi_align_1d_kernel<T>, blocks_for(n), kThreads, 0, stream, features, channels, length, rois,
         num_rois, output_size, static_cast<T>(spatial_scale), sampling_ratio, aligned, out);
}

template <typename T>
void roi_align_1d_backward(const T* grad_out, int64_t num_videos, int64_t channels, int64_t length, const T* rois,
                           const int64_t* by_video, const int64_t* video_offsets, int64_t output_size,
                           double spatial_scale, int64_t sampling_ratio, bool aligned, T* grad_features,
                           void* stream) {
  const int64_t rows = num_videos * channels;
  if (rows == 0) return;
  launch("roi_align_1d_backward", roi_align_1d_backward_kernel<T>, blocks_for(rows), kThreads, 0, stream, grad_out,
         num_videos, channels, length, rois, by_video, video_offsets, output_size, static_cast<T>(spatial_scale),
         sampling_ratio, aligned, grad_features);
}

template void roi_align_1d<float>(const float*, int64_t, int64_t, const float*, int64_t, int64_t, double, int64_t,
                                  bool, float*, void*);
template void roi_align_1d<double>(const double*, int64_t, int64_t, const double*, int64_t, int64_t, double, int64_t,
                                   bool, double*, void*);
template void roi_align_1d_backward<float>(const float*, int64_t, int64_t, int64_t, const float*, const int64_t*,
                                           const int64_t*, int64_t, double, int64_t, bool, float*, void*);
template void roi_align_1d_backward<double>(const double*, int64_t, int64_t, int64_t, const double*, const int64_t*,
                                            const int64_t*, int64_t, double, int64_t, bool, double*, void*);

}  // namespace ptal::cuda
