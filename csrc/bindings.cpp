// Python bindings of the compiled kernels. Built as ptal_core._cpu (C++ kernels) and, with
// PTAL_CUDA_MODULE defined, as ptal_core._cuda (CUDA launchers) or, with PTAL_CUDA_ON_CPU too, as the tests'
// ptal_core._cuda_on_cpu (the same CUDA sources run on the CPU, csrc/cuda_on_cpu/). Arrays travel as integer
// addresses (tensor.data_ptr()); Python has checked shapes, dtypes, devices and contiguity. The GIL is released.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <string>
#include <utility>

#ifdef PTAL_CUDA_MODULE
#include "kernels_cuda.h"
#ifdef PTAL_CUDA_ON_CPU
#include "cuda_on_cpu/control.h"
#define PTAL_MODULE_NAME _cuda_on_cpu
#else
#define PTAL_MODULE_NAME _cuda
#endif
namespace kernels = ptal::cuda;
#else
#include "common/parallel.h"
#include "kernels_cpu.h"
#define PTAL_MODULE_NAME _cpu
namespace kernels = ptal::cpu;
#endif

namespace py = pybind11;
using Address = std::uintptr_t;

template <typename T>
T* at(Address address) {
  return reinterpret_cast<T*>(address);
}

#ifdef PTAL_CUDA_MODULE
#define PTAL_STREAM , Address stream
#define PTAL_PASS_STREAM , reinterpret_cast<void*>(stream)
#else
#define PTAL_STREAM
#define PTAL_PASS_STREAM
#endif

template <typename T>
void bind_dtype(py::module_& m, const char* suffix) {
  const auto release = py::call_guard<py::gil_scoped_release>();
  m.def(
      (std::string("soft_nms_") + suffix).c_str(),
      [](Address segments, Address scores, Address group_offsets, int64_t num_groups, int method, double sigma,
         double iou_threshold, double min_score, int64_t max_keep, double union_epsilon, Address work,
         Address out_rows, Address out_scores, Address out_counts PTAL_STREAM) {
        kernels::soft_nms<T>(at<const T>(segments), at<const T>(scores), at<const int64_t>(group_offsets),
                             num_groups, method, sigma, iou_threshold, min_score, max_keep, union_epsilon,
                             at<double>(work),
                             at<int64_t>(out_rows), at<double>(out_scores), at<int64_t>(out_counts) PTAL_PASS_STREAM);
      },
      release);
  m.def(
      (std::string("roi_align_1d_") + suffix).c_str(),
      [](Address features, int64_t channels, int64_t length, Address rois, int64_t num_rois, int64_t output_size,
         double spatial_scale, int64_t sampling_ratio, bool aligned, Address out PTAL_STREAM) {
        kernels::roi_align_1d<T>(at<const T>(features), channels, length, at<const T>(rois), num_rois, output_size,
                                 spatial_scale, sampling_ratio, aligned, at<T>(out) PTAL_PASS_STREAM);
      },
      release);
  m.def(
      (std::string("roi_align_1d_backward_") + suffix).c_str(),
      [](Address grad_out, int64_t num_videos, int64_t channels, int64_t length, Address rois, Address by_video,
         Address video_offsets, int64_t output_size, double spatial_scale, int64_t sampling_ratio, bool aligned,
         Address grad_features PTAL_STREAM) {
        kernels::roi_align_1d_backward<T>(at<const T>(grad_out), num_videos, channels, length, at<const T>(rois),
                                          at<const int64_t>(by_video), at<const int64_t>(video_offsets), output_size,
                                          spatial_scale, sampling_ratio, aligned, at<T>(grad_features)
                                          PTAL_PASS_STREAM);
      },
      release);
#ifdef PTAL_CUDA_MODULE
  m.def(
      (std::string("constrained_kmedoids_") + suffix).c_str(),
      [](Address features, Address points, Address lengths, Address order, int64_t batch, int64_t max_length,
         int64_t dim, int64_t max_points, int distance, Address slot_begin, Address slot_end, int layout,
         bool fix_actions, int64_t max_iter, int64_t background_sample, Address work_offsets, Address norms,
         Address costs, Address previous, Address members, Address objective, Address nearest, Address slot_work,
         Address unit_sums, Address clusters, Address medoids, Address slots, Address iterations, Address stream) {
        kernels::constrained_kmedoids<T>(
            at<const T>(features), at<const int64_t>(points), at<const int64_t>(lengths), at<const int64_t>(order),
            batch, max_length, dim, max_points, distance, at<const int64_t>(slot_begin), at<const int64_t>(slot_end),
            layout, fix_actions, max_iter, background_sample, at<const int64_t>(work_offsets), at<double>(norms),
            at<int64_t>(costs), at<int64_t>(previous), at<int64_t>(members), at<int64_t>(objective),
            at<int64_t>(nearest), at<int64_t>(slot_work), at<double>(unit_sums), at<int64_t>(clusters),
            at<int64_t>(medoids), at<int64_t>(slots), at<int64_t>(iterations), reinterpret_cast<void*>(stream));
      },
      release);
  m.def(
      (std::string("optimal_sequence_search_exact_") + suffix).c_str(),
      [](Address cas, Address act_seed, Address background_seed, Address any_action, Address lengths, Address pairs,
         int64_t num_pairs, int64_t max_length, int64_t num_classes, int64_t cas_channels, double outer_ratio,
         Address work_offsets, Address prefix_action, Address prefix_background, Address best, Address next,
         Address labels, Address lo, Address hi, Address pseudo_labels, Address pair_scores, Address pair_segments,
         Address stream) {
        kernels::optimal_sequence_search_exact<T>(
            at<const T>(cas), at<const uint8_t>(act_seed), at<const uint8_t>(background_seed),
            at<const uint8_t>(any_action), at<const int64_t>(lengths), at<const int64_t>(pairs), num_pairs, max_length,
            num_classes, cas_channels, outer_ratio, at<const int64_t>(work_offsets), at<double>(prefix_action),
            at<double>(prefix_background), at<double>(best), at<int64_t>(next), at<uint8_t>(labels), at<int64_t>(lo),
            at<int64_t>(hi), at<uint8_t>(pseudo_labels), at<double>(pair_scores), at<int64_t>(pair_segments),
            reinterpret_cast<void*>(stream));
      },
      release);
  m.def(
      (std::string("temporal_nms_") + suffix).c_str(),
      [](Address segments, Address group_offsets, Address tile_offsets, Address mask_offsets, int64_t num_groups,
         int64_t num_tiles, int64_t max_words, double iou_threshold, double length_offset, double union_epsilon,
         bool suppress_at_threshold, Address mask, Address keep, Address stream) {
        kernels::temporal_nms<T>(at<const T>(segments), at<const int64_t>(group_offsets),
                                 at<const int64_t>(tile_offsets), at<const int64_t>(mask_offsets), num_groups,
                                 num_tiles, max_words, static_cast<T>(iou_threshold), static_cast<T>(length_offset),
                                 static_cast<T>(union_epsilon), suppress_at_threshold, at<uint64_t>(mask),
                                 at<uint8_t>(keep), reinterpret_cast<void*>(stream));
      },
      release);
#else
  m.def(
      (std::string("constrained_kmedoids_") + suffix).c_str(),
      [](Address features, Address points, Address lengths, Address order, int64_t batch, int64_t max_length,
         int64_t dim, int64_t max_points, int distance, Address slot_begin, Address slot_end, int layout,
         bool fix_actions, int64_t max_iter, int64_t background_sample, Address clusters, Address medoids,
         Address slots, Address iterations) {
        kernels::constrained_kmedoids<T>(at<const T>(features), at<const int64_t>(points), at<const int64_t>(lengths),
                                         at<const int64_t>(order), batch, max_length, dim, max_points, distance,
                                         at<const int64_t>(slot_begin), at<const int64_t>(slot_end), layout,
                                         fix_actions, max_iter, background_sample, at<int64_t>(clusters),
                                         at<int64_t>(medoids), at<int64_t>(slots), at<int64_t>(iterations));
      },
      release);
  m.def(
      (std::string("order_by_score_") + suffix).c_str(),
      [](Address scores, Address indices, int64_t n, Address order) {
        kernels::order_by_score<T>(at<const T>(scores), at<const int64_t>(indices), n, at<int64_t>(order));
      },
      release);
  m.def(
      (std::string("segment_iou_") + suffix).c_str(),
      [](Address a, int64_t m_rows, Address b, int64_t n_rows, double length_offset, Address out) {
        kernels::segment_iou<T>(at<const T>(a), m_rows, at<const T>(b), n_rows, static_cast<T>(length_offset),
                                at<T>(out));
      },
      release);
  m.def(
      (std::string("optimal_sequence_search_beam_") + suffix).c_str(),
      [](Address cas, Address act_seed, Address background_seed, Address any_action, Address lengths, Address pairs,
         int64_t num_pairs, int64_t max_length, int64_t num_classes, int64_t cas_channels, double outer_ratio,
         int64_t budget, double thresh, Address pseudo_labels, Address pair_scores, Address pair_segments) {
        kernels::optimal_sequence_search_beam<T>(
            at<const T>(cas), at<const uint8_t>(act_seed), at<const uint8_t>(background_seed),
            at<const uint8_t>(any_action), at<const int64_t>(lengths), at<const int64_t>(pairs), num_pairs, max_length,
            num_classes, cas_channels, outer_ratio, budget, thresh, at<uint8_t>(pseudo_labels), at<double>(pair_scores),
            at<int64_t>(pair_segments));
      },
      release);
  m.def(
      (std::string("optimal_sequence_search_exact_") + suffix).c_str(),
      [](Address cas, Address act_seed, Address background_seed, Address any_action, Address lengths, Address pairs,
         int64_t num_pairs, int64_t max_length, int64_t num_classes, int64_t cas_channels, double outer_ratio,
         Address pseudo_labels, Address pair_scores, Address pair_segments) {
        kernels::optimal_sequence_search_exact<T>(
            at<const T>(cas), at<const uint8_t>(act_seed), at<const uint8_t>(background_seed),
            at<const uint8_t>(any_action), at<const int64_t>(lengths), at<const int64_t>(pairs), num_pairs, max_length,
            num_classes, cas_channels, outer_ratio, at<uint8_t>(pseudo_labels), at<double>(pair_scores),
            at<int64_t>(pair_segments));
      },
      release);
  m.def(
      (std::string("oic_scores_") + suffix).c_str(),
      [](Address scores, int64_t num_videos, int64_t num_snippets, Address lengths, Address segments,
         int64_t num_segments, double outer_ratio, Address prefix, Address out) {
        kernels::oic_scores<T>(at<const T>(scores), num_videos, num_snippets, at<const int64_t>(lengths),
                               at<const int64_t>(segments), num_segments, outer_ratio, at<double>(prefix), at<T>(out));
      },
      release);
  m.def(
      (std::string("oic_scores_backward_") + suffix).c_str(),
      [](Address grad_out, int64_t num_videos, int64_t num_snippets, Address lengths, Address segments,
         int64_t num_segments, double outer_ratio, Address difference, Address grad_scores) {
        kernels::oic_scores_backward<T>(at<const T>(grad_out), num_videos, num_snippets, at<const int64_t>(lengths),
                                        at<const int64_t>(segments), num_segments, outer_ratio,
                                        at<double>(difference), at<T>(grad_scores));
      },
      release);
  m.def(
      (std::string("sample_proposal_features_") + suffix).c_str(),
      [](Address features, int64_t num_snippets, int64_t channels, Address lengths, Address proposals,
         int64_t num_proposals, int64_t num_samples, double expand, Address out) {
        kernels::sample_proposal_features<T>(at<const T>(features), num_snippets, channels, at<const int64_t>(lengths),
                                             at<const double>(proposals), num_proposals, num_samples, expand,
                                             at<T>(out));
      },
      release);
  m.def(
      (std::string("sample_proposal_features_backward_") + suffix).c_str(),
      [](Address grad_out, int64_t num_videos, int64_t num_snippets, int64_t channels, Address lengths,
         Address proposals, int64_t num_proposals, int64_t num_samples, double expand, Address grad_features) {
        kernels::sample_proposal_features_backward<T>(at<const T>(grad_out), num_videos, num_snippets, channels,
                                                      at<const int64_t>(lengths), at<const double>(proposals),
                                                      num_proposals, num_samples, expand, at<T>(grad_features));
      },
      release);
  m.def(
      (std::string("generate_proposals_") + suffix).c_str(),
      [](Address start_prob, Address end_prob, Address lengths, int64_t num_videos, int64_t num_snippets,
         int64_t d_min, int64_t d_max, int64_t capacity, Address pairs, Address scores, Address counts) {
        kernels::generate_proposals<T>(at<const T>(start_prob), at<const T>(end_prob), at<const int64_t>(lengths),
                                       num_videos, num_snippets, d_min, d_max, capacity, at<int64_t>(pairs),
                                       at<T>(scores), at<int64_t>(counts));
      },
      release);
  m.def(
      (std::string("temporal_nms_") + suffix).c_str(),
      [](Address segments, Address scores, Address group_offsets, int64_t num_groups, double iou_threshold,
         double length_offset, double union_epsilon, bool suppress_at_threshold, Address out_rows,
         Address out_counts) {
        kernels::temporal_nms<T>(at<const T>(segments), at<const T>(scores), at<const int64_t>(group_offsets), num_groups,
                                 static_cast<T>(iou_threshold), static_cast<T>(length_offset),
                                 static_cast<T>(union_epsilon), suppress_at_threshold,
                                 at<int64_t>(out_rows), at<int64_t>(out_counts));
      },
      release);
  m.def(
      (std::string("select_seeds_") + suffix).c_str(),
      [](Address background, Address anchors, Address lengths, int64_t batch, int64_t time, int64_t classes,
         double bkg_thresh, double act_thresh, Address act_seed, Address bkg_seed) {
        kernels::select_seeds<T>(at<const T>(background), at<const uint8_t>(anchors), at<const int64_t>(lengths), batch,
                                 time, classes, static_cast<T>(bkg_thresh), static_cast<T>(act_thresh),
                                 at<uint8_t>(act_seed), at<uint8_t>(bkg_seed));
      },
      release);
  m.def(
      (std::string("threshold_proposal_counts_") + suffix).c_str(),
      [](Address scores, Address thresholds, Address lengths, int64_t batch, int64_t time, int64_t channels,
         int64_t num_thresholds, Address counts) {
        kernels::threshold_proposal_counts<T>(at<const T>(scores), at<const T>(thresholds), at<const int64_t>(lengths),
                                              batch, time, channels, num_thresholds, at<int64_t>(counts));
      },
      release);
  m.def(
      (std::string("threshold_proposals_") + suffix).c_str(),
      [](Address scores, Address thresholds, Address lengths, int64_t batch, int64_t time, int64_t channels,
         int64_t num_thresholds, Address offsets, Address segments) {
        kernels::threshold_proposals<T>(at<const T>(scores), at<const T>(thresholds), at<const int64_t>(lengths), batch,
                                        time, channels, num_thresholds, at<const int64_t>(offsets),
                                        at<int64_t>(segments));
      },
      release);
#endif
}

#ifndef PTAL_CUDA_MODULE
// Returns (kind, flat index): see kernels_cpu.h.
template <typename T>
void bind_binary_masks(py::module_& m, const char* suffix) {
  m.def(
      (std::string("binary_masks_") + suffix).c_str(),
      [](Address values, int64_t batch, int64_t time, int64_t inner, Address lengths, bool check, Address masks,
         Address any_inner, Address any_time) {
        const auto error = kernels::binary_masks<T>(at<const T>(values), batch, time, inner, at<const int64_t>(lengths),
                                                    check, at<uint8_t>(masks), at<uint8_t>(any_inner),
                                                    at<uint8_t>(any_time));
        return std::make_pair(error.kind, error.index);  // a tuple once the GIL is back
      },
      py::call_guard<py::gil_scoped_release>());
}
#endif

PYBIND11_MODULE(PTAL_MODULE_NAME, m) {
  bind_dtype<float>(m, "f32");
  bind_dtype<double>(m, "f64");
#ifndef PTAL_CUDA_MODULE
  bind_binary_masks<float>(m, "f32");
  bind_binary_masks<double>(m, "f64");
  bind_binary_masks<uint8_t>(m, "u8");
#endif
#ifdef PTAL_CUDA_MODULE
  m.attr("architectures") = kernels::architectures();
  m.attr("max_nms_group_size") = kernels::kMaxNmsGroupSize;
#ifdef PTAL_CUDA_ON_CPU
  m.def("set_block_order_seed", &ptal::cuda_on_cpu::set_block_order_seed);
  m.def("launches", &ptal::cuda_on_cpu::launches);
  m.def("blocks", &ptal::cuda_on_cpu::blocks);
#endif
#else
  m.def("num_threads", &ptal::max_threads);
#ifdef PTAL_OPENMP
  m.attr("openmp") = true;
#else
  m.attr("openmp") = false;
#endif
#endif
}
