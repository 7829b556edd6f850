// LACP's optimal sequence search (OSS) for one video·class, shared by the C++ and CUDA kernels:
// the transcript (alternating background/action segments with the seed range each must cover) and
// the exact dynamic programme over segment starts. Mirrors ptal_core/reference/optimal_sequence_search.py.
#pragma once
#include <cstdint>

#include "common/host_device.h"
#include "common/oic.h"

namespace ptal {

constexpr uint8_t kBackground = 0, kAction = 1;
// A pair's number of segments when it cannot be searched: two action runs without a background seed between
// them (LACP's release asserts), or a CAS that is not finite within the video.
constexpr int64_t kNoBackgroundSeed = -1, kNotFinite = -2;

// The seeds of one (video, class) pair inside the batched arrays act_seed (B, T_max, C) and
// background_seed, any_action (B, T_max), as 0/1 bytes; `row` = video * T_max.
struct PairSeeds {
  const uint8_t* act_seed;
  const uint8_t* background_seed;
  const uint8_t* any_action;
  int64_t row, cls, num_classes;

  PTAL_HD bool is_action(int64_t t) const { return act_seed[(row + t) * num_classes + cls] != 0; }
  // Background seeds of the class: background seeds, and action seeds of other classes only.
  PTAL_HD bool is_background(int64_t t) const {
    return background_seed[row + t] != 0 || (any_action[row + t] != 0 && !is_action(t));
  }
};

// prefix_action[t] = sum of cas[row + i, cls] over i < t, prefix_background the same of 1 - cas; float64,
// summed left to right (as the reference does). Returns whether every value read is finite.
template <typename T>
PTAL_HD bool class_prefix_sums(const T* cas, int64_t row, int64_t cls, int64_t cas_channels, int64_t length,
                               double* prefix_action, double* prefix_background) {
  bool finite = true;
  prefix_action[0] = prefix_background[0] = 0.0;
  for (int64_t t = 0; t < length; ++t) {
    const double p = static_cast<double>(cas[(row + t) * cas_channels + cls]);
    finite &= is_finite(p);
    prefix_action[t + 1] = prefix_action[t] + p;
    prefix_background[t + 1] = prefix_background[t] + (1.0 - p);
  }
  return finite;
}

// Builds the transcript of a sequence of `length` snippets with at least one action seed into
// labels/lo/hi (room for `length` segments); background seeds inside action runs are ignored.
// Returns the number of segments, or kNoBackgroundSeed when two action runs have no background seed between them.
PTAL_HD int64_t build_transcript(int64_t length, const PairSeeds& seeds, uint8_t* labels, int64_t* lo, int64_t* hi) {
  auto is_action = [&](int64_t t) { return seeds.is_action(t); };
  auto is_background = [&](int64_t t) { return seeds.is_background(t); };
  int64_t n = 0, pending_first = -1, pending_last = -1;  // background seeds since the last action run
  for (int64_t t = 0; t < length; ++t) {
    if (is_action(t)) {
      const int64_t run_start = t;
      while (t + 1 < length && is_action(t + 1)) ++t;
      if (n == 0 && pending_first < 0) {
        labels[n] = kAction, lo[n] = 0, hi[n] = t, ++n;  // no leading background: the run may start at 0
      } else {
        if (pending_first < 0) return kNoBackgroundSeed;
        labels[n] = kBackground, lo[n] = n == 0 ? 0 : pending_first, hi[n] = pending_last, ++n;
        labels[n] = kAction, lo[n] = run_start, hi[n] = t, ++n;
      }
      pending_first = pending_last = -1;
    } else if (is_background(t)) {
      if (pending_first < 0) pending_first = t;
      pending_last = t;
    }
  }
  if (pending_first >= 0) {
    labels[n] = kBackground, lo[n] = pending_first, hi[n] = length - 1, ++n;
  } else {
    hi[n - 1] = length - 1;
  }
  return n;
}

// Admissible starts of segment k: segment 0 starts at 0, segment k > 0 in [hi[k-1] + 1, lo[k]].
PTAL_HD int64_t first_start(const int64_t* hi, int64_t k) { return k == 0 ? 0 : hi[k - 1] + 1; }
PTAL_HD int64_t last_start(const int64_t* lo, int64_t k) { return k == 0 ? 0 : lo[k]; }

// The exact DP's step for segment k < n - 1 starting at `start`: the best over the next segment's starts
// b2 of OIC_k(start, b2 - 1) + best[b2] (best[b2]: the best total of the segments after it), the earliest
// b2 on ties. Writes best[start] and next[start].
PTAL_HD void dp_step(const double* prefix_background, const double* prefix_action, const uint8_t* labels,
                     const int64_t* lo, const int64_t* hi, int64_t k, int64_t start, int64_t length, double outer_ratio,
                     double* best, int64_t* next) {
  const double* prefix = labels[k] == kAction ? prefix_action : prefix_background;
  double top = 0.0;
  int64_t arg = -1;
  for (int64_t b2 = first_start(hi, k + 1); b2 <= last_start(lo, k + 1); ++b2) {
    const double total = oic_from_prefix(prefix, start, b2 - 1, length, outer_ratio) + best[b2];
    if (arg < 0 || total > top) top = total, arg = b2;
  }
  best[start] = top;
  next[start] = arg;
}

// The last segment's DP values: best[b] = OIC of [b, length - 1].
PTAL_HD double last_segment_value(const double* prefix_background, const double* prefix_action,
                                  const uint8_t* labels, int64_t n, int64_t start, int64_t length, double outer_ratio) {
  const double* prefix = labels[n - 1] == kAction ? prefix_action : prefix_background;
  return oic_from_prefix(prefix, start, length - 1, length, outer_ratio);
}

// Writes 1 into pseudo_labels[(row + t) * num_classes + cls] on the action segments of the optimal labelling,
// following next[] from segment 0 at snippet 0.
PTAL_HD void write_exact_labels(const uint8_t* labels, int64_t n, const int64_t* next, int64_t length, int64_t row,
                                int64_t cls, int64_t num_classes, uint8_t* pseudo_labels) {
  int64_t start = 0;
  for (int64_t k = 0; k < n; ++k) {
    const int64_t end = k + 1 < n ? next[start] : length;
    if (labels[k] == kAction)
      for (int64_t t = start; t < end; ++t) pseudo_labels[(row + t) * num_classes + cls] = 1;
    start = end;
  }
}

}  // namespace ptal
