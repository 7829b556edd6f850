// LACP's optimal sequence search (OSS) for one video·class, shared by the C++ and CUDA kernels:
// the transcript (alternating background/action segments with the seed range each must cover) and
// the exact dynamic programme over segment starts. Mirrors ptal_core/reference/optimal_sequence_search.py.
#pragma once
#include <cstdint>

#include "common/host_device.h"
#include "common/oic.h"

namespace ptal {

constexpr uint8_t kBackground = 0, kAction = 1;

// Builds the transcript of a sequence of `length` snippets with at least one action seed into
// labels/lo/hi (room for `length` segments). is_action(t) / is_background(t) say whether snippet t is an
// action seed of the class / a background seed (background seeds inside action runs are ignored).
// Returns the number of segments, or -1 when two action runs have no background seed between them.
template <typename IsAction, typename IsBackground>
PTAL_HD int64_t build_transcript(int64_t length, IsAction is_action, IsBackground is_background, uint8_t* labels,
                                 int64_t* lo, int64_t* hi) {
  int64_t n = 0, pending_first = -1, pending_last = -1;  // background seeds since the last action run
  for (int64_t t = 0; t < length; ++t) {
    if (is_action(t)) {
      const int64_t run_start = t;
      while (t + 1 < length && is_action(t + 1)) ++t;
      if (n == 0 && pending_first < 0) {
        labels[n] = kAction, lo[n] = 0, hi[n] = t, ++n;  // no leading background: the run may start at 0
      } else {
        if (pending_first < 0) return -1;
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

// Value of the DP transition: OIC of segment k over [start, next_start - 1] plus the best total of the
// segments after it (best[next_start]).
PTAL_HD double transition(const double* prefix_background, const double* prefix_action, const uint8_t* labels,
                          const double* best, int64_t k, int64_t start, int64_t next_start, int64_t length,
                          double outer_ratio) {
  const double* prefix = labels[k] == kAction ? prefix_action : prefix_background;
  return oic_from_prefix(prefix, start, next_start - 1, length, outer_ratio) + best[next_start];
}

}  // namespace ptal
