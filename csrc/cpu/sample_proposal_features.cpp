#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels_cpu.h"

namespace ptal::cpu {
namespace {

// Channels per backward task: one task accumulates one video's gradient for this many channels.
constexpr int64_t kChannelChunk = 64;

struct SamplePoint {
  int64_t left, right;  // neighbouring snippets, right = min(left + 1, length - 1)
  double weight;        // share of `right`
};

// Point i of proposal [start, end] in a video of `length` snippets: the arithmetic of the reference
// (ptal_core/reference/sample_proposal_features.py), in float64 and in the same order.
inline SamplePoint sample_point(double start, double end, int64_t i, int64_t num_samples, double expand,
                                int64_t length) {
  const double duration = end - start;
  const double low = start - duration * expand;
  const double high = end + duration * expand;
  const double step = (high - low) / static_cast<double>(num_samples - 1);
  const double last = static_cast<double>(length - 1);
  const double position = std::min(std::max(low + static_cast<double>(i) * step, 0.0), last);
  const double left = std::floor(position);
  return {static_cast<int64_t>(left), static_cast<int64_t>(std::min(left + 1.0, last)), position - left};
}

}  // namespace

template <typename T>
void sample_proposal_features(const T* features, int64_t num_snippets, int64_t channels, const int64_t* lengths,
                              const double* proposals, int64_t num_proposals, int64_t num_samples, double expand,
                              T* out) {
#pragma omp parallel for schedule(static)
  for (int64_t row = 0; row < num_proposals * num_samples; ++row) {
    const int64_t k = row / num_samples;
    const int64_t video = static_cast<int64_t>(proposals[3 * k]);
    const SamplePoint point = sample_point(proposals[3 * k + 1], proposals[3 * k + 2], row % num_samples,
                                           num_samples, expand, lengths[video]);
    const T* left = features + (video * num_snippets + point.left) * channels;
    const T* right = features + (video * num_snippets + point.right) * channels;
    const T weight = static_cast<T>(point.weight);
    const T complement = T(1) - weight;
    T* target = out + row * channels;
    for (int64_t c = 0; c < channels; ++c) target[c] = left[c] * complement + right[c] * weight;
  }
}

template <typename T>
void sample_proposal_features_backward(const T* grad_out, int64_t num_videos, int64_t num_snippets, int64_t channels,
                                       const int64_t* lengths, const double* proposals, int64_t num_proposals,
                                       int64_t num_samples, double expand, T* grad_features) {
  // Proposals by video (counting sort), so that each (video, channel chunk) of the gradient has one writer
  // that adds the proposals' contributions in their order: the result does not depend on the threads.
  std::vector<int64_t> video_offsets(num_videos + 1, 0), by_video(num_proposals);
  for (int64_t k = 0; k < num_proposals; ++k) ++video_offsets[static_cast<int64_t>(proposals[3 * k]) + 1];
  for (int64_t b = 0; b < num_videos; ++b) video_offsets[b + 1] += video_offsets[b];
  std::vector<int64_t> fill(video_offsets.begin(), video_offsets.end() - 1);
  for (int64_t k = 0; k < num_proposals; ++k) by_video[fill[static_cast<int64_t>(proposals[3 * k])]++] = k;

  const int64_t num_chunks = (channels + kChannelChunk - 1) / kChannelChunk;
#pragma omp parallel
  {
    std::vector<double> sums(num_snippets * kChannelChunk);
#pragma omp for schedule(dynamic, 1)
    for (int64_t task = 0; task < num_videos * num_chunks; ++task) {
      const int64_t video = task / num_chunks, first = (task % num_chunks) * kChannelChunk;
      const int64_t width = std::min(kChannelChunk, channels - first);
      std::fill(sums.begin(), sums.end(), 0.0);
      for (int64_t i = video_offsets[video]; i < video_offsets[video + 1]; ++i) {
        const int64_t k = by_video[i];
        for (int64_t n = 0; n < num_samples; ++n) {
          const SamplePoint point = sample_point(proposals[3 * k + 1], proposals[3 * k + 2], n, num_samples, expand,
                                                 lengths[video]);
          const T weight = static_cast<T>(point.weight);
          const double right_share = static_cast<double>(weight), left_share = static_cast<double>(T(1) - weight);
          const T* g = grad_out + (k * num_samples + n) * channels + first;
          double* left = sums.data() + point.left * kChannelChunk;
          double* right = sums.data() + point.right * kChannelChunk;
          for (int64_t c = 0; c < width; ++c) {
            const double value = static_cast<double>(g[c]);
            left[c] += left_share * value;
            right[c] += right_share * value;
          }
        }
      }
      T* grad = grad_features + video * num_snippets * channels + first;
      for (int64_t t = 0; t < num_snippets; ++t)
        for (int64_t c = 0; c < width; ++c) grad[t * channels + c] = static_cast<T>(sums[t * kChannelChunk + c]);
    }
  }
}

template void sample_proposal_features<float>(const float*, int64_t, int64_t, const int64_t*, const double*, int64_t,
                                              int64_t, double, float*);
template void sample_proposal_features<double>(const double*, int64_t, int64_t, const int64_t*, const double*,
                                               int64_t, int64_t, double, double*);
template void sample_proposal_features_backward<float>(const float*, int64_t, int64_t, int64_t, const int64_t*,
                                                       const double*, int64_t, int64_t, double, float*);
template void sample_proposal_features_backward<double>(const double*, int64_t, int64_t, int64_t, const int64_t*,
                                                        const double*, int64_t, int64_t, double, double*);

}  // namespace ptal::cpu
