// C++ CPU kernels. Arrays are contiguous, row-major; Python allocates every buffer.
#pragma once
#include <cstdint>

namespace ptal::cpu {

// 0/1 masks values (B, T, K) as bytes: masks (B, T, K) = values != 0, any_inner (B, T) = any over K and
// any_time (B, K) = any over T. With `check`, also finds the first entry (in row-major order) that is neither 0
// nor 1 (kMaskNotBinary) or is nonzero at t >= lengths[b] (kMaskPastLength), and returns it with its flat index.
enum BinaryMaskErrorKind { kMaskFine = 0, kMaskNotBinary = 1, kMaskPastLength = 2 };
struct BinaryMaskError {
  int kind;
  int64_t index;
};
template <typename T>
BinaryMaskError binary_masks(const T* values, int64_t batch, int64_t time, int64_t inner, const int64_t* lengths,
                             bool check, uint8_t* masks, uint8_t* any_inner, uint8_t* any_time);

// out (M, N) = IoU of every a (M, 2) with every b (N, 2).
template <typename T>
void segment_iou(const T* a, int64_t m, const T* b, int64_t n, T length_offset, T* out);

// order (n,): the positions of the (indices, scores) pairs (n,) by decreasing score, ties by lower index (the
// order of the NMS ops' results, for selections gathered from several groups).
template <typename T>
void order_by_score(const T* scores, const int64_t* indices, int64_t n, int64_t* order);

// Greedy hard NMS over groups. Rows (segments (N, 2), scores (N,)) are sorted by group, and by original
// index within a group; group g holds rows [group_offsets[g], group_offsets[g + 1]). Each group is visited
// by decreasing score, ties by lower row; its kept rows go, in that order, to out_rows[group_offsets[g] ...]
// and their number to out_counts[g]. IoU: common/iou.h's segment_iou with `length_offset`, `union_epsilon`.
template <typename T>
void temporal_nms(const T* segments, const T* scores, const int64_t* group_offsets, int64_t num_groups,
                  T iou_threshold, T length_offset, T union_epsilon, bool suppress_at_threshold, int64_t* out_rows,
                  int64_t* out_counts);

// Soft-NMS over groups. Rows are sorted by group (and by original index within a group). Writes the
// selected rows of group g, in selection order, to out_rows[group_offsets[g] ...] with their decayed
// scores in out_scores, and their number to out_counts[g]. `work` (N,) is scratch.
template <typename T>
void soft_nms(const T* segments, const T* scores, const int64_t* group_offsets, int64_t num_groups,
              int method, double sigma, double iou_threshold, double min_score, int64_t max_keep,
              double union_epsilon, double* work, int64_t* out_rows, double* out_scores, int64_t* out_counts);

// LACP's optimal sequence search, exact method, over (video, class) pairs (P, 2). cas (B, T_max,
// cas_channels), act_seed (B, T_max, C), background_seed and any_action (B, T_max) as 0/1 bytes; lengths (B,).
// Writes 1s of the pair's class into pseudo_labels (B, T_max, C) (zeroed by the caller), the pair's mean OIC
// into pair_scores and its number of segments into pair_segments (kNoBackgroundSeed or kNotFinite of
// common/sequence_search.h when the pair cannot be searched).
template <typename T>
void optimal_sequence_search_exact(const T* cas, const uint8_t* act_seed, const uint8_t* background_seed,
                                   const uint8_t* any_action, const int64_t* lengths, const int64_t* pairs,
                                   int64_t num_pairs, int64_t max_length, int64_t num_classes, int64_t cas_channels,
                                   double outer_ratio, uint8_t* pseudo_labels, double* pair_scores,
                                   int64_t* pair_segments);

// The same with LACP's beam search (the release's decoder) of `budget` hypotheses and pruning `thresh`.
template <typename T>
void optimal_sequence_search_beam(const T* cas, const uint8_t* act_seed, const uint8_t* background_seed,
                                  const uint8_t* any_action, const int64_t* lengths, const int64_t* pairs,
                                  int64_t num_pairs, int64_t max_length, int64_t num_classes, int64_t cas_channels,
                                  double outer_ratio, int64_t budget, double thresh, uint8_t* pseudo_labels,
                                  double* pair_scores, int64_t* pair_segments);

// Outer-inner contrast (common/oic.h) of segments (K, 3: video, start, end inclusive) on the score
// sequences scores (B, T), video b being scores[b, 0 .. lengths[b]). out (K,). `prefix` (B, T + 1) is
// scratch for the float64 prefix sums.
template <typename T>
void oic_scores(const T* scores, int64_t num_videos, int64_t num_snippets, const int64_t* lengths,
                const int64_t* segments, int64_t num_segments, double outer_ratio, double* prefix, T* out);

// Gradient of oic_scores: grad_scores (B, T) = sum over segments of grad_out[k] * d OIC_k / d scores,
// zero past each video's length. `difference` (B, T + 1) is float64 scratch.
template <typename T>
void oic_scores_backward(const T* grad_out, int64_t num_videos, int64_t num_snippets, const int64_t* lengths,
                         const int64_t* segments, int64_t num_segments, double outer_ratio, double* difference,
                         T* grad_scores);

// LACP's seed selection (select_seed), one video per thread. background (B, T) is b(t); anchors (B, T) is 1
// where a snippet holds a point; snippets t >= lengths[v] are not read. act_seed (B, T, C) holds the point
// rows on entry and receives the walks' copies; bkg_seed (B, T) must be zeroed.
template <typename T>
void select_seeds(const T* background, const uint8_t* anchors, const int64_t* lengths, int64_t batch, int64_t time,
                  int64_t classes, T bkg_thresh, T act_thresh, uint8_t* act_seed, uint8_t* bkg_seed);

// Maximal runs of scores (B, T, K) >= threshold and > 0, per (video, channel, threshold) "job" numbered
// (b * K + k) * S + s. counts (B * K * S) receives each job's number of runs; threshold_proposals then writes
// job j's runs, by start, as rows [b, k, start, end] of segments (P, 4) from row offsets[j].
template <typename T>
void threshold_proposal_counts(const T* scores, const T* thresholds, const int64_t* lengths, int64_t batch,
                               int64_t time, int64_t channels, int64_t num_thresholds, int64_t* counts);
template <typename T>
void threshold_proposals(const T* scores, const T* thresholds, const int64_t* lengths, int64_t batch, int64_t time,
                         int64_t channels, int64_t num_thresholds, const int64_t* offsets, int64_t* segments);

// APN's proposal features: for each proposal (P, 3: video, start, end as float64) N = num_samples points
// uniformly spaced over [start - d * expand, end + d * expand] (d = end - start), clamped to the video's
// [0, lengths[video] - 1], each the linear interpolation of its two neighbouring rows of features (B, T, E).
// out (P, N, E).
template <typename T>
void sample_proposal_features(const T* features, int64_t num_snippets, int64_t channels, const int64_t* lengths,
                              const double* proposals, int64_t num_proposals, int64_t num_samples, double expand,
                              T* out);

// Gradient of sample_proposal_features: grad_features (B, T, E) from grad_out (P, N, E), summed in float64
// in the order of the proposals (deterministic); zero where no point lands, e.g. past a video's length.
template <typename T>
void sample_proposal_features_backward(const T* grad_out, int64_t num_videos, int64_t num_snippets, int64_t channels,
                                       const int64_t* lengths, const double* proposals, int64_t num_proposals,
                                       int64_t num_samples, double expand, T* grad_features);

// APN's proposal generation, one video per thread. Candidate starts (ends) are the snippets t < lengths[b]
// of start_prob (end_prob) (B, T) that are strict local maxima (a missing neighbour counts as -inf) or above
// half the video's maximum; every candidate pair with d_min <= end - start <= d_max is scored
// start_prob[start] * end_prob[end]. The best `capacity` pairs of video b, by decreasing score, ties by
// (start, end) ascending, go to pairs (B, capacity, 2) and scores (B, capacity); their number to counts (B,).
template <typename T>
void generate_proposals(const T* start_prob, const T* end_prob, const int64_t* lengths, int64_t num_videos,
                        int64_t num_snippets, int64_t d_min, int64_t d_max, int64_t capacity, int64_t* pairs,
                        T* scores, int64_t* counts);

// APN's constrained k-medoids (common/kmedoids.h), one video per thread. features (B, T_max, dim); points
// (B, max_points) sorted snippet indices padded with -1; lengths (B,); order (T_max,) a permutation of the
// padded positions (the background subset's random order); distance: kCosine or kEuclidean; slot_begin,
// slot_end (B, max_points + 1): the slots serving each gap (layout: kGapLayout or kVideoLayout, how they are
// placed); fix_actions: the action medoids stay at the points. Writes, for t < lengths[v], clusters (B, T_max)
// (cluster index 0 .. 2n of every snippet); medoids (B, max_points) (prefilled with -1): the n action medoids;
// slots (S,): the background medoids; iterations (B,).
template <typename T>
void constrained_kmedoids(const T* features, const int64_t* points, const int64_t* lengths, const int64_t* order,
                          int64_t batch, int64_t max_length, int64_t dim, int64_t max_points, int distance,
                          const int64_t* slot_begin, const int64_t* slot_end, int layout, bool fix_actions,
                          int64_t max_iter, int64_t background_sample, int64_t* clusters, int64_t* medoids,
                          int64_t* slots, int64_t* iterations);

// RoIAlign over time (common/roi_align_1d.h): out (K, C, L) from features (B, C, T) and rois (K, 3: video,
// start, end), each output the mean of its bin's samples, linearly interpolated; parallel over the RoIs.
template <typename T>
void roi_align_1d(const T* features, int64_t channels, int64_t length, const T* rois, int64_t num_rois,
                  int64_t output_size, double spatial_scale, int64_t sampling_ratio, bool aligned, T* out);

// Gradient of roi_align_1d: grad_features (B, C, T) from grad_out (K, C, L). RoIs by video: video b's are
// by_video[video_offsets[b] .. video_offsets[b + 1]), in their order; each (video, channel) row is summed by
// one thread in that order (deterministic).
template <typename T>
void roi_align_1d_backward(const T* grad_out, int64_t num_videos, int64_t channels, int64_t length, const T* rois,
                           const int64_t* by_video, const int64_t* video_offsets, int64_t output_size,
                           double spatial_scale, int64_t sampling_ratio, bool aligned, T* grad_features);

}  // namespace ptal::cpu
