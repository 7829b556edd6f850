#include <vector>

#include "common/oic.h"
#include "kernels_cpu.h"

namespace ptal::cpu {

template <typename T>
void oic_scores(const T* scores, int64_t num_videos, int64_t num_snippets, const int64_t* lengths,
                const int64_t* segments, int64_t num_segments, double outer_ratio, double* prefix, T* out) {
  const int64_t stride = num_snippets + 1;
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < num_videos; ++b) {
    const T* p = scores + b * num_snippets;
    double* row = prefix + b * stride;
    row[0] = 0.0;
    for (int64_t t = 0; t < lengths[b]; ++t) row[t + 1] = row[t] + static_cast<double>(p[t]);
  }
#pragma omp parallel for schedule(static)
  for (int64_t k = 0; k < num_segments; ++k) {
    const int64_t b = segments[3 * k], s = segments[3 * k + 1], e = segments[3 * k + 2];
    out[k] = static_cast<T>(ptal::oic_from_prefix(prefix + b * stride, s, e, lengths[b], outer_ratio));
  }
}

template <typename T>
void oic_scores_backward(const T* grad_out, int64_t num_videos, int64_t num_snippets, const int64_t* lengths,
                         const int64_t* segments, int64_t num_segments, double outer_ratio, double* difference,
                         T* grad_scores) {
  // Segments by video (counting sort), so that each video's difference array has one writer.
  std::vector<int64_t> video_offsets(num_videos + 1, 0), by_video(num_segments);
  for (int64_t k = 0; k < num_segments; ++k) ++video_offsets[segments[3 * k] + 1];
  for (int64_t b = 0; b < num_videos; ++b) video_offsets[b + 1] += video_offsets[b];
  std::vector<int64_t> fill(video_offsets.begin(), video_offsets.end() - 1);
  for (int64_t k = 0; k < num_segments; ++k) by_video[fill[segments[3 * k]]++] = k;

  const int64_t stride = num_snippets + 1;
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t b = 0; b < num_videos; ++b) {
    const int64_t length = lengths[b];
    double* diff = difference + b * stride;
    for (int64_t t = 0; t <= length; ++t) diff[t] = 0.0;
    // d OIC / d p[t] is 1 / len on [s, e] and -1 / |outer| on [outer_s, s) and (e, outer_e]: four steps.
    for (int64_t i = video_offsets[b]; i < video_offsets[b + 1]; ++i) {
      const int64_t k = by_video[i], s = segments[3 * k + 1], e = segments[3 * k + 2];
      const double g = static_cast<double>(grad_out[k]);
      const OuterMargins outer = ptal::oic_outer_margins(s, e, length, outer_ratio);
      const int64_t outer_count = (s - outer.start) + (outer.end - e);
      const double inner_step = g / static_cast<double>(e - s + 1);
      const double outer_step = outer_count > 0 ? g / static_cast<double>(outer_count) : 0.0;
      diff[outer.start] -= outer_step;
      diff[s] += inner_step + outer_step;
      diff[e + 1] -= inner_step + outer_step;
      diff[outer.end + 1] += outer_step;
    }
    T* grad = grad_scores + b * num_snippets;
    double running = 0.0;
    for (int64_t t = 0; t < length; ++t) {
      running += diff[t];
      grad[t] = static_cast<T>(running);
    }
    for (int64_t t = length; t < num_snippets; ++t) grad[t] = T(0);
  }
}

template void oic_scores<float>(const float*, int64_t, int64_t, const int64_t*, const int64_t*, int64_t, double,
                                double*, float*);
template void oic_scores<double>(const double*, int64_t, int64_t, const int64_t*, const int64_t*, int64_t, double,
                                 double*, double*);
template void oic_scores_backward<float>(const float*, int64_t, int64_t, const int64_t*, const int64_t*, int64_t,
                                         double, double*, float*);
template void oic_scores_backward<double>(const double*, int64_t, int64_t, const int64_t*, const int64_t*, int64_t,
                                          double, double*, double*);

}  // namespace ptal::cpu
