// The segments of one NMS group sorted by start, so that the ones that can overlap a given segment form one
// contiguous window: those starting before its end, from the first whose running maximum of ends passes its
// start. Used by the CPU NMS kernels, which then only visit the segments a selection can suppress or decay.
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

namespace ptal::cpu {

inline uint64_t ordered_bits(int64_t x) { return static_cast<uint64_t>(x) ^ 0x8000000000000000u; }

// Below this many rows a comparison sort beats the radix sort's passes over 256 buckets.
constexpr int64_t kFewRows = 32;

// An unsigned integer that orders like the float x (-0.0 like 0.0; NaNs beyond the infinities), so that
// sorting by it is well defined even on bad input.
inline uint32_t ordered_bits(float x) {
  x += 0.0f;  // -0.0 -> 0.0
  uint32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  return bits >> 31 ? ~bits : bits | 0x80000000u;
}
inline uint64_t ordered_bits(double x) {
  x += 0.0;
  uint64_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  return bits >> 63 ? ~bits : bits | 0x8000000000000000u;
}

// Rows [0, n) of keys[row * stride], increasing (or decreasing when `descending`), ties by lower row: a
// comparison sort of (key, row) pairs for few rows, else a least-significant-digit radix sort (stable), byte by
// byte, skipping the bytes that all keys share.
template <typename T>
std::vector<int64_t> sorted_rows(const T* keys, int64_t stride, int64_t n, bool descending) {
  using Key = decltype(ordered_bits(T()));
  std::vector<Key> key(n);
  std::vector<int64_t> row(n);
  for (int64_t i = 0; i < n; ++i) {
    const Key k = ordered_bits(keys[i * stride]);
    key[i] = descending ? ~k : k;
    row[i] = i;
  }
  if (n <= kFewRows) {
    std::vector<std::pair<Key, int64_t>> pairs(n);
    for (int64_t i = 0; i < n; ++i) pairs[i] = {key[i], i};
    std::sort(pairs.begin(), pairs.end());  // distinct pairs: the order is total
    for (int64_t i = 0; i < n; ++i) row[i] = pairs[i].second;
    return row;
  }
  std::vector<Key> next_key(n);
  std::vector<int64_t> next_row(n);
  for (unsigned shift = 0; shift < 8 * sizeof(Key); shift += 8) {
    int64_t first_slot[257] = {0};
    for (int64_t i = 0; i < n; ++i) ++first_slot[((key[i] >> shift) & 0xff) + 1];
    if (first_slot[((key[0] >> shift) & 0xff) + 1] == n) continue;
    for (int d = 0; d < 256; ++d) first_slot[d + 1] += first_slot[d];
    for (int64_t i = 0; i < n; ++i) {
      const int64_t slot = first_slot[(key[i] >> shift) & 0xff]++;
      next_key[slot] = key[i];
      next_row[slot] = row[i];
    }
    key.swap(next_key);
    row.swap(next_row);
  }
  return row;
}

template <typename T>
struct StartIndex {
  std::vector<int64_t> row;   // row (offset within the group) at each position, by start
  std::vector<T> start, end;  // the segments, by start
  std::vector<T> reach;       // reach[k] = max(end[0..k]): nondecreasing

  StartIndex(const T* segments, int64_t n)
      : row(sorted_rows(segments, 2, n, false)), start(n), end(n), reach(n) {
    for (int64_t k = 0; k < n; ++k) {
      start[k] = segments[2 * row[k]];
      end[k] = segments[2 * row[k] + 1];
      reach[k] = k > 0 ? std::max(reach[k - 1], end[k]) : end[k];
    }
  }

  // Positions [first, last) of the segments with start <= hi and some end up to them >= lo: a superset of
  // those with start <= hi and end >= lo.
  void window(T lo, T hi, int64_t& first, int64_t& last) const {
    first = std::lower_bound(reach.begin(), reach.end(), lo) - reach.begin();
    last = std::upper_bound(start.begin(), start.end(), hi) - start.begin();
  }
};

}  // namespace ptal::cpu
