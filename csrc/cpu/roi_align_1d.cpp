#include <vector>

#include "common/roi_align_1d.h"
#include "kernels_cpu.h"

namespace ptal::cpu {

template <typename T>
void roi_align_1d(const T* features, int64_t channels, int64_t length, const T* rois, int64_t num_rois,
                  int64_t output_size, double spatial_scale, int64_t sampling_ratio, bool aligned, T* out) {
#pragma omp parallel
  {
    std::vector<RoiSample<T>> samples;  // the RoI's samples, bin by bin
#pragma omp for schedule(dynamic, 4)
    for (int64_t k = 0; k < num_rois; ++k) {
      const int64_t video = static_cast<int64_t>(rois[3 * k]);
      const RoiGrid<T> grid = roi_grid<T>(rois[3 * k + 1], rois[3 * k + 2], output_size,
                                          static_cast<T>(spatial_scale), sampling_ratio, aligned);
      samples.resize(output_size * grid.samples);
      for (int64_t i = 0; i < output_size; ++i)
        for (int64_t j = 0; j < grid.samples; ++j) samples[i * grid.samples + j] = roi_sample(grid, i, j, length);
      for (int64_t c = 0; c < channels; ++c) {
        const T* x = features + (video * channels + c) * length;
        T* y = out + (k * channels + c) * output_size;
        for (int64_t i = 0; i < output_size; ++i) {
          T sum = T(0);
          for (int64_t j = 0; j < grid.samples; ++j) {
            const RoiSample<T>& s = samples[i * grid.samples + j];
            sum += s.left_weight * x[s.left] + s.right_weight * x[s.right];
          }
          y[i] = sum / grid.count;
        }
      }
    }
  }
}

template <typename T>
void roi_align_1d_backward(const T* grad_out, int64_t num_videos, int64_t channels, int64_t length, const T* rois,
                           const int64_t* by_video, const int64_t* video_offsets, int64_t output_size,
                           double spatial_scale, int64_t sampling_ratio, bool aligned, T* grad_features) {
  // One task per (video, channel) row of the gradient: it alone adds to it, RoI by RoI in their order,
  // bin by bin, sample by sample (torchvision's order), so the result does not depend on the threads.
#pragma omp parallel for schedule(dynamic, 8)
  for (int64_t row = 0; row < num_videos * channels; ++row) {
    const int64_t video = row / channels;
    roi_align_1d_gradient_row(grad_out, channels, row % channels, rois, by_video, video_offsets[video],
                              video_offsets[video + 1], output_size, static_cast<T>(spatial_scale), sampling_ratio,
                              aligned, length, grad_features + row * length);
  }
}

template void roi_align_1d<float>(const float*, int64_t, int64_t, const float*, int64_t, int64_t, double, int64_t,
                                  bool, float*);
template void roi_align_1d<double>(const double*, int64_t, int64_t, const double*, int64_t, int64_t, double, int64_t,
                                   bool, double*);
template void roi_align_1d_backward<float>(const float*, int64_t, int64_t, int64_t, const float*, const int64_t*,
                                           const int64_t*, int64_t, double, int64_t, bool, float*);
template void roi_align_1d_backward<double>(const double*, int64_t, int64_t, int64_t, const double*, const int64_t*,
                                            const int64_t*, int64_t, double, int64_t, bool, double*);

}  // namespace ptal::cpu
