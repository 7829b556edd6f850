#include "kernels_cpu.h"

namespace ptal::cpu {

namespace {

// Calls on_run(start, end) for every maximal run of values >= threshold and > 0 among the `length` values
// at values[0], values[stride], ...
template <typename T, typename OnRun>
void for_each_run(const T* values, int64_t stride, int64_t length, T threshold, OnRun on_run) {
  int64_t start = -1;
  for (int64_t t = 0; t < length; ++t) {
    const T value = values[t * stride];
    const bool inside = value >= threshold && value > 0;
    if (inside && start < 0) start = t;
    if (!inside && start >= 0) {
      on_run(start, t - 1);
      start = -1;
    }
  }
  if (start >= 0) on_run(start, length - 1);
}

}  // namespace

template <typename T>
void threshold_proposal_counts(const T* scores, const T* thresholds, const int64_t* lengths, int64_t batch,
                               int64_t time, int64_t channels, int64_t num_thresholds, int64_t* counts) {
  const int64_t total = batch * channels * num_thresholds;
#pragma omp parallel for schedule(dynamic, 4)
  for (int64_t job = 0; job < total; ++job) {
    const int64_t video = job / (channels * num_thresholds), channel = job / num_thresholds % channels;
    int64_t count = 0;
    for_each_run(scores + video * time * channels + channel, channels, lengths[video],
                 thresholds[job % num_thresholds], [&count](int64_t, int64_t) { ++count; });
    counts[job] = count;
  }
}

template <typename T>
void threshold_proposals(const T* scores, const T* thresholds, const int64_t* lengths, int64_t batch, int64_t time,
                         int64_t channels, int64_t num_thresholds, const int64_t* offsets, int64_t* segments) {
  const int64_t total = batch * channels * num_thresholds;
#pragma omp parallel for schedule(dynamic, 4)
  for (int64_t job = 0; job < total; ++job) {
    const int64_t video = job / (channels * num_thresholds), channel = job / num_thresholds % channels;
    int64_t* row = segments + 4 * offsets[job];
    for_each_run(scores + video * time * channels + channel, channels, lengths[video],
                 thresholds[job % num_thresholds], [&](int64_t start, int64_t end) {
                   row[0] = video;
                   row[1] = channel;
                   row[2] = start;
                   row[3] = end;
                   row += 4;
                 });
  }
}

template void threshold_proposal_counts<float>(const float*, const float*, const int64_t*, int64_t, int64_t, int64_t,
                                               int64_t, int64_t*);
template void threshold_proposal_counts<double>(const double*, const double*, const int64_t*, int64_t, int64_t,
                                                int64_t, int64_t, int64_t*);
template void threshold_proposals<float>(const float*, const float*, const int64_t*, int64_t, int64_t, int64_t,
                                         int64_t, const int64_t*, int64_t*);
template void threshold_proposals<double>(const double*, const double*, const int64_t*, int64_t, int64_t, int64_t,
                                          int64_t, const int64_t*, int64_t*);

}  // namespace ptal::cpu
