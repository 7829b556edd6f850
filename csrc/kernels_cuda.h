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
// its tiles are [tile_offsets[g], tile_offsets[g + 1]) (the nb_g (nb_g + 1) / 2 on or above the diagonal, row
// by row) and its mask rows start at
// mask_offsets[g] (n_g * nb_g words). `max_words` = max_g nb_g. keep (N,) must be zeroed.
template <typename T>
void temporal_nms(const T* segments, const int64_t* group_offsets, const int64_t* tile_offsets,
                  const int64_t* mask_offsets, int64_t num_groups, int64_t num_tiles, int64_t max_words,
                  T iou_threshold, T length_offset, T union_epsilon, bool suppress_at_threshold, uint64_t* mask,
                  uint8_t* keep, void* stream);

// Soft-NMS over groups, one block per group; arguments as ptal::cpu::soft_nms.
template <typename T>
void soft_nms(const T* segments, const T* scores, const int64_t* group_offsets, int64_t num_groups,
              int method, double sigma, double iou_threshold, double min_score, int64_t max_keep,
              double union_epsilon, double* work, int64_t* out_rows, double* out_scores, int64_t* out_counts,
              void* stream);

// LACP's optimal sequence search, exact method, one block per (video, class) pair; arguments as
// ptal::cpu::optimal_sequence_search_exact, except that a pair of video -1 is skipped (its outputs untouched),
// plus per-pair workspaces: pair p owns entries
// [work_offsets[p], work_offsets[p + 1]) (its length + 1 of them) of each workspace array.
template <typename T>
void optimal_sequence_search_exact(const T* cas, const uint8_t* act_seed, const uint8_t* background_seed,
                                   const uint8_t* any_action, const int64_t* lengths, const int64_t* pairs,
                                   int64_t num_pairs, int64_t max_length, int64_t num_classes, int64_t cas_channels,
                                   double outer_ratio, const int64_t* work_offsets, double* prefix_action,
                                   double* prefix_background, double* best, int64_t* next, uint8_t* labels,
                                   int64_t* lo, int64_t* hi, uint8_t* pseudo_labels, double* pair_scores,
                                   int64_t* pair_segments, void* stream);

// APN's constrained k-medoids, one block per video; arguments as ptal::cpu::constrained_kmedoids, plus
// per-video workspaces: video v owns entries [work_offsets[v], work_offsets[v + 1]) (its length of them) of
// norms, previous, members, objective and nearest, three times as many of costs, unit_sums[v * dim .. (v + 1)
// * dim), and slot_work[2 s .. 2 s + 2 S_v) for its S_v slots from s on (slot_work holds 2 S entries).
template <typename T>
void constrained_kmedoids(const T* features, const int64_t* points, const int64_t* lengths, const int64_t* order,
                          int64_t batch, int64_t max_length, int64_t dim, int64_t max_points, int distance,
                          const int64_t* slot_begin, const int64_t* slot_end, int layout, bool fix_actions,
                          int64_t max_iter, int64_t background_sample, const int64_t* work_offsets, double* norms,
                          int64_t* costs, int64_t* previous, int64_t* members, int64_t* objective, int64_t* nearest,
                          int64_t* slot_work, double* unit_sums, int64_t* clusters, int64_t* medoids, int64_t* slots,
                          int64_t* iterations, void* stream);

// RoIAlign over time, one thread per output value; arguments as ptal::cpu::roi_align_1d.
template <typename T>
void roi_align_1d(const T* features, int64_t channels, int64_t length, const T* rois, int64_t num_rois,
                  int64_t output_size, double spatial_scale, int64_t sampling_ratio, bool aligned, T* out,
                  void* stream);

// Its gradient, one thread per (video, channel) row; arguments as ptal::cpu::roi_align_1d_backward.
template <typename T>
void roi_align_1d_backward(const T* grad_out, int64_t num_videos, int64_t channels, int64_t length, const T* rois,
                           const int64_t* by_video, const int64_t* video_offsets, int64_t output_size,
                           double spatial_scale, int64_t sampling_ratio, bool aligned, T* grad_features,
                           void* stream);

const char* architectures();

}  // namespace ptal::cuda
