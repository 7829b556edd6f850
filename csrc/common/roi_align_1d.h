// RoIAlign over time, shared by the C++ and CUDA kernels: torchvision's roi_align on a map of height 1,
// with the same arithmetic in the same order (so float32 results agree bit for bit in the adaptive case).
#pragma once
#include <cmath>
#include <cstdint>

#include "common/host_device.h"

namespace ptal {

// The sampling grid of one RoI: bin i spans [start + i * bin, start + (i + 1) * bin) and is sampled at
// `samples` evenly spaced points, whose values are averaged over `count` = max(samples, 1).
template <typename T>
struct RoiGrid {
  T start, bin, count;
  int64_t samples;
};

template <typename T>
PTAL_HD RoiGrid<T> roi_grid(T roi_start, T roi_end, int64_t output_size, T spatial_scale, int64_t sampling_ratio,
                            bool aligned) {
  const T offset = aligned ? T(0.5) : T(0);
  const T start = roi_start * spatial_scale - offset;
  const T end = roi_end * spatial_scale - offset;
  T width = end - start;
  if (!aligned && width < T(1)) width = T(1);  // G-TAD's Align1D: RoIs shorter than a snippet are widened
  const T bin = width / static_cast<T>(output_size);
  const int64_t samples = sampling_ratio > 0 ? sampling_ratio : static_cast<int64_t>(ceil(bin));
  return {start, bin, static_cast<T>(samples > 1 ? samples : 1), samples};
}

// Sample j of bin i in a sequence of `length` snippets: its neighbouring snippets and their weights. Points
// outside [-1, length] contribute nothing (weights 0); points within one snippet of an end take the end's value.
template <typename T>
struct RoiSample {
  int64_t left, right;
  T left_weight, right_weight;
};

template <typename T>
PTAL_HD RoiSample<T> roi_sample(const RoiGrid<T>& grid, int64_t i, int64_t j, int64_t length) {
  T x = grid.start + static_cast<T>(i) * grid.bin +
        static_cast<T>(static_cast<float>(j) + 0.5f) * grid.bin / static_cast<T>(grid.samples);
  if (x < T(-1) || x > static_cast<T>(length)) return {0, 0, T(0), T(0)};
  if (x <= T(0)) x = T(0);
  int64_t left = static_cast<int64_t>(x), right = left + 1;
  if (left >= length - 1) {
    left = right = length - 1;
    x = static_cast<T>(left);
  }
  const T right_weight = x - static_cast<T>(left);
  return {left, right, T(1) - right_weight, right_weight};
}

// The gradient row of one (video, channel c): zeroed, then every RoI of the video (by_video[first .. last), in
// their order) adds grad_out[k, c, i] * weight / count to the two snippets of each of its samples, bin by bin
// and sample by sample (torchvision's order). Shared by the CPU and CUDA backward kernels.
template <typename T>
PTAL_HD void roi_align_1d_gradient_row(const T* grad_out, int64_t channels, int64_t c, const T* rois,
                                       const int64_t* by_video, int64_t first, int64_t last, int64_t output_size,
                                       T spatial_scale, int64_t sampling_ratio, bool aligned, int64_t length,
                                       T* grad) {
  for (int64_t t = 0; t < length; ++t) grad[t] = T(0);
  for (int64_t r = first; r < last; ++r) {
    const int64_t k = by_video[r];
    const RoiGrid<T> grid = roi_grid<T>(rois[3 * k + 1], rois[3 * k + 2], output_size, spatial_scale,
                                        sampling_ratio, aligned);
    const T* g = grad_out + (k * channels + c) * output_size;
    for (int64_t i = 0; i < output_size; ++i)
      for (int64_t j = 0; j < grid.samples; ++j) {
        const RoiSample<T> s = roi_sample(grid, i, j, length);
        grad[s.left] += g[i] * s.left_weight / grid.count;
        grad[s.right] += g[i] * s.right_weight / grid.count;
      }
  }
}

}  // namespace ptal
