// Temporal IoU of two segments, shared by every C++ and CUDA kernel.
#pragma once
#include <cmath>

#include "common/host_device.h"

namespace ptal {

// IoU of [s1, e1] and [s2, e2]; every length and the intersection get `length_offset` added
// (0: continuous segments; 1: the "+1" convention of frame-index code), and each length in the union, not the
// intersection, gets `union_epsilon` added too (1e-6: the NMS of ActionFormer and OpenTAD). Computed in T, in
// this order of operations. 0 when the union is <= 0.
template <typename T>
PTAL_HD T segment_iou(T s1, T e1, T s2, T e2, T length_offset, T union_epsilon = T(0)) {
  const T lo = s1 > s2 ? s1 : s2;
  const T hi = e1 < e2 ? e1 : e2;
  T inter = hi - lo + length_offset;
  inter = inter > T(0) ? inter : T(0);
  const T uni = (e1 - s1 + length_offset + union_epsilon) + (e2 - s2 + length_offset + union_epsilon) - inter;
  return uni > T(0) ? inter / uni : T(0);
}

// Whether [s1, e1] and [s2, e2] share a positive length, i.e. segment_iou(..., 0) > 0.
template <typename T>
PTAL_HD bool overlap(T s1, T e1, T s2, T e2) {
  return (e1 < e2 ? e1 : e2) > (s1 > s2 ? s1 : s2);
}

// The suppression test of hard NMS: IoU > threshold, or >= when `suppress_at_threshold`.
template <typename T>
PTAL_HD bool suppresses(T iou, T threshold, bool suppress_at_threshold) {
  return suppress_at_threshold ? iou >= threshold : iou > threshold;
}

// The soft-NMS decay factor for a segment with IoU `iou` to the one just selected.
enum SoftNmsMethod { kSoftLinear = 0, kSoftGaussian = 1, kSoftHard = 2 };

PTAL_HD double soft_nms_weight(double iou, int method, double sigma, double iou_threshold) {
  if (method == kSoftGaussian) return exp(-(iou * iou) / sigma);
  if (iou <= iou_threshold) return 1.0;
  return method == kSoftLinear ? 1.0 - iou : 0.0;
}

}  // namespace ptal
