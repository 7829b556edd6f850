#include <algorithm>
#include <cstring>
#include <numeric>
#include <vector>

#include "kernels_cpu.h"

namespace ptal::cpu {
namespace {

// Whether the `size` bytes at `bytes` are not all zero, read 8 at a time.
bool any_byte(const uint8_t* bytes, int64_t size) {
  uint64_t any = 0, word;
  int64_t i = 0;
  for (; i + 8 <= size; i += 8) std::memcpy(&word, bytes + i, 8), any |= word;
  if (i < size && size >= 8) std::memcpy(&word, bytes + size - 8, 8), any |= word;  // the tail, overlapping
  else
    for (; i < size; ++i) any |= bytes[i];
  return any != 0;
}

}  // namespace

template <typename T>
BinaryMaskError binary_masks(const T* values, int64_t batch, int64_t time, int64_t inner, const int64_t* lengths,
                             bool check, uint8_t* masks, uint8_t* any_inner, uint8_t* any_time) {
  BinaryMaskError first{kMaskFine, batch * time * inner};
  const int64_t period = std::lcm<int64_t>(std::max<int64_t>(inner, 1), 16);
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t begin = b * time * inner, size = time * inner;
    const T* __restrict video_values = values + begin;
    uint8_t* __restrict video_masks = masks + begin;
    uint8_t* __restrict video_any_inner = any_inner + b * time;
    uint8_t* __restrict video_any_time = any_time + b * inner;
    // The masks, and whether some value is neither 0 nor 1, in one vectorised pass.
    int32_t not_binary = 0;  // as wide as the float lanes: a cheaper reduction
    for (int64_t i = 0; i < size; ++i) {
      const T v = video_values[i];
      const uint8_t nonzero = v != T(0);
      video_masks[i] = nonzero;
      not_binary |= (v != T(0)) & (v != T(1));
    }
    for (int64_t t = 0; t < time; ++t) video_any_inner[t] = any_byte(video_masks + t * inner, inner);
    // Any over time: the OR of whole periods of lcm(inner, 16) bytes (vectorised), folded onto the columns.
    std::vector<uint8_t> folded(period, 0);
    int64_t i = 0;
    for (; i + period <= size; i += period)
      for (int64_t j = 0; j < period; ++j) folded[j] |= video_masks[i + j];
    for (int64_t j = 0; i + j < size; ++j) folded[j] |= video_masks[i + j];
    std::fill(video_any_time, video_any_time + inner, uint8_t{0});
    for (int64_t j = 0; j < period && inner > 0; ++j) video_any_time[j % inner] |= folded[j];

    if (!check) continue;
    // The first entry that is neither 0 nor 1, or nonzero past the length (not binary when it is both).
    const int64_t not_binary_at =
        not_binary ? std::find_if(video_values, video_values + size, [](T v) { return v != T(0) && v != T(1); }) -
                         video_values
                   : size;
    const int64_t length = std::clamp<int64_t>(lengths[b], 0, time);
    const int64_t past_row = std::find(video_any_inner + length, video_any_inner + time, uint8_t{1}) - video_any_inner;
    const int64_t past_length_at =
        past_row < time ? std::find(video_masks + past_row * inner, video_masks + size, uint8_t{1}) - video_masks : size;
    if (not_binary_at == size && past_length_at == size) continue;
    const BinaryMaskError error = not_binary_at <= past_length_at
                                      ? BinaryMaskError{kMaskNotBinary, begin + not_binary_at}
                                      : BinaryMaskError{kMaskPastLength, begin + past_length_at};
#pragma omp critical
    if (error.index < first.index) first = error;
  }
  return first;
}

template BinaryMaskError binary_masks<float>(const float*, int64_t, int64_t, int64_t, const int64_t*, bool, uint8_t*,
                                             uint8_t*, uint8_t*);
template BinaryMaskError binary_masks<double>(const double*, int64_t, int64_t, int64_t, const int64_t*, bool,
                                              uint8_t*, uint8_t*, uint8_t*);
template BinaryMaskError binary_masks<uint8_t>(const uint8_t*, int64_t, int64_t, int64_t, const int64_t*, bool,
                                               uint8_t*, uint8_t*, uint8_t*);

}  // namespace ptal::cpu
