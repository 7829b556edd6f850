// Outer-inner contrast (OIC) of a segment, LACP's segment score, shared by oic_scores and the sequence
// search. A segment [s, e] (inclusive) of a score sequence p[0..T) has length len = e - s + 1, inner mean
// over [s, e], outer margins [outer_s, s) and (e, outer_e] with outer_s = max(0, int(s - ratio * len)),
// outer_e = min(T - 1, int(e + ratio * len)) (int() truncates toward zero, as in the LACP release), and
// OIC = inner mean - outer mean, the mean of an empty outer set being 0.
#pragma once
#include <cstdint>

#include "common/host_device.h"

namespace ptal {

struct OuterMargins {
  int64_t start;  // outer_s: the left margin is [start, s)
  int64_t end;    // outer_e: the right margin is (e, end]
};

PTAL_HD OuterMargins oic_outer_margins(int64_t s, int64_t e, int64_t length, double outer_ratio) {
  const double len = static_cast<double>(e - s + 1);
  int64_t left = static_cast<int64_t>(static_cast<double>(s) - outer_ratio * len);
  int64_t right = static_cast<int64_t>(static_cast<double>(e) + outer_ratio * len);
  left = left > 0 ? left : 0;
  right = right < length - 1 ? right : length - 1;
  return {left, right};
}

// Inner mean and outer mean of [s, e] from the prefix sums of p: prefix[0] = 0, prefix[i + 1] = prefix[i] + p[i].
template <typename T>
struct OicParts {
  T inner, outer;
};

template <typename T>
PTAL_HD OicParts<T> oic_parts_from_prefix(const T* prefix, int64_t s, int64_t e, int64_t length, double outer_ratio) {
  const OuterMargins margins = oic_outer_margins(s, e, length, outer_ratio);
  const T inner = (prefix[e + 1] - prefix[s]) / static_cast<T>(e - s + 1);
  const int64_t outer_count = (s - margins.start) + (margins.end - e);
  if (outer_count == 0) return {inner, T(0)};
  const T outer_sum = (prefix[s] - prefix[margins.start]) + (prefix[margins.end + 1] - prefix[e + 1]);
  return {inner, outer_sum / static_cast<T>(outer_count)};
}

// OIC of [s, e] from the prefix sums of p. O(1).
template <typename T>
PTAL_HD T oic_from_prefix(const T* prefix, int64_t s, int64_t e, int64_t length, double outer_ratio) {
  const OicParts<T> parts = oic_parts_from_prefix(prefix, s, e, length, outer_ratio);
  return parts.inner - parts.outer;
}

}  // namespace ptal
