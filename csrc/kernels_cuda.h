// CUDA kernel launchers: plain C++ functions taking device pointers, sizes and a cudaStream_t (as void*).
// They enqueue on `stream` and throw std::runtime_error when a launch fails.
#pragma once
#include <cstdint>

namespace ptal::cuda {

// Shared memory of the NMS sweep bounds a group's size: ceil(n / 64) 64-bit words of 48 KiB.
constexpr int64_t kMaxNmsGroupSize = 48 * 1024 / 8 * 64;

// Greedy hard NMS over groups, in two launches: the IoU bitmask of every group's upper triangle
// (one 64x64 tile per block), then the sequential sweep (one warp per group).
// Layout as ptal::cpu::temporal_nms; group g has n_g rows and nb_g = ceil(n_g / 64) mask words per row,
// its tiles are [tile_offsets[g], tile_offsets[g + 1]) (nb_g^2 of them) and its mask rows start at
// mask_offsets[g] (n_g * nb_g words). `max_words` = max_g nb_g. keep (N,) must be zeroed.
template <typename T>
void temporal_nms(const T* segments, const int64_t* group_offsets, const int64_t* tile_offsets,
                  const int64_t* mask_offsets, int64_t num_groups, int64_t num_tiles, int64_t max_words,
                  T iou_threshold, T length_offset, bool suppress_at_threshold, uint64_t* mask,
                  uint8_t* keep, void* stream);

// Soft-NMS over groups, one block per group; arguments as ptal::cpu::soft_nms.
template <typename T>
void soft_nms(const T* segments, const T* scores, const int64_t* group_offsets, int64_t num_groups,
              int method, double sigma, double iou_threshold, double min_score, int64_t max_keep,
              double* work, int64_t* out_rows, double* out_scores, int64_t* out_counts, void* stream);

const char* architectures();

}  // namespace ptal::cuda
