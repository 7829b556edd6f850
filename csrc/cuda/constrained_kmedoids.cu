#include <cstdint>

#include "common/kmedoids.h"
#include "cuda/launch.cuh"
#include "kernels_cuda.h"

namespace ptal::cuda {
namespace {

constexpr int kThreads = 256;

// The block's medoid of members[0 .. count) among candidates[0 .. num_candidates) (as the C++ kernel's
// medoid()): threads share the unit-feature sum's components, then the candidates; thread 0 picks the best
// (ties to the lowest snippet index) into *result. Every thread must call it.
template <typename T>
__device__ void block_medoid(const VideoFeatures<T>& video, const int64_t* candidates, int64_t num_candidates,
                             const int64_t* members, int64_t count, bool farthest, double* unit_sum,
                             int64_t* objective, int64_t* result) {
  if (video.distance == kCosine) {
    for (int64_t e = threadIdx.x; e < video.dim; e += blockDim.x) {
      double total = 0.0;
      for (int64_t k = 0; k < count; ++k) total += video.unit(members[k], e);
      unit_sum[e] = total;
    }
    __syncthreads();
  }
  for (int64_t k = threadIdx.x; k < num_candidates; k += blockDim.x)
    objective[k] = quantize(video.summed(candidates[k], members, count, unit_sum));
  __syncthreads();
  if (threadIdx.x == 0) {
    int64_t best = 0;
    for (int64_t k = 1; k < num_candidates; ++k)
      if (improves(objective[k], candidates[k], objective[best], candidates[best], farthest)) best = k;
    *result = candidates[best];
  }
  __syncthreads();
}

// One block per video: the C++ kernel's cluster_video, with the snippets' costs, the gaps' DPs and placements
// and the medoid objectives shared among the threads.
template <typename T>
__global__ void kmedoids_kernel(const T* features, const int64_t* points_all, const int64_t* lengths,
                                const int64_t* order, int64_t max_length, int64_t dim, int64_t max_points,
                                int distance, const int64_t* slot_begin_all, const int64_t* slot_end_all, int layout,
                                bool fix_actions, int64_t max_iter, int64_t background_sample,
                                const int64_t* work_offsets, double* norms, int64_t* costs, int64_t* previous,
                                int64_t* members, int64_t* objective, int64_t* nearest, int64_t* slot_work,
                                double* unit_sums, int64_t* clusters_all, int64_t* medoids_all, int64_t* slots,
                                int64_t* iterations) {
  __shared__ int64_t bounds[2];
  const int64_t v = blockIdx.x, length = lengths[v], base = work_offsets[v];
  const T* x = features + v * max_length * dim;
  const int64_t* points = points_all + v * max_points;
  const int64_t* slot_begin = slot_begin_all + v * (max_points + 1);
  const int64_t* slot_end = slot_end_all + v * (max_points + 1);
  int64_t* clusters = clusters_all + v * max_length;
  int64_t* medoids = medoids_all + v * max_points;
  norms += base, costs += 3 * base, previous += base, members += base, objective += base, nearest += base;
  double* unit_sum = unit_sums + v * dim;
  const int64_t n = count_points(points, max_points);

  if (n == 0) {
    for (int64_t t = threadIdx.x; t < length; t += blockDim.x) clusters[t] = 0;
    if (threadIdx.x == 0) iterations[v] = 0;
    return;
  }
  const int64_t first_slot = slot_begin[0], num_slots = slot_end[n] - first_slot;
  int64_t* slot_counts = slot_work + 2 * first_slot;  // the video's slots' member counts, then offsets
  int64_t* slot_offsets = slot_counts + num_slots;
  if (distance == kCosine)
    for (int64_t t = threadIdx.x; t < length; t += blockDim.x) norms[t] = sqrt(dot(x + t * dim, x + t * dim, dim));
  for (int64_t t = threadIdx.x; t < length; t += blockDim.x) members[t] = t;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    medoids[i] = points[i];
    clusters[points[i]] = 2 * i + 1;
  }
  __syncthreads();
  const VideoFeatures<T> video{x, norms, dim, distance};
  if (layout == kVideoLayout) {
    block_medoid(video, members, length, points, n, /*farthest=*/true, unit_sum, objective, &slots[first_slot]);
  } else {
    for (int64_t j = threadIdx.x; j <= n; j += blockDim.x)
      place_gap_slots(video, points, n, length, j, slot_begin[j], slot_end[j], slots, costs);
    __syncthreads();
  }

  for (int64_t iteration = 1;; ++iteration) {
    for (int64_t t = threadIdx.x; t < length; t += blockDim.x)
      snippet_costs(video, points, n, medoids, slots, slot_begin, slot_end, t, costs, nearest);
    __syncthreads();
    for (int64_t j = threadIdx.x; j <= n; j += blockDim.x) {
      int64_t first, last;
      gap_bounds(points, n, length, j, first, last);
      if (first <= last) assign_gap(j, n, first, last, costs, clusters);
    }
    __syncthreads();
    int changed = iteration == 1;
    for (int64_t t = threadIdx.x; t < length; t += blockDim.x) {
      changed |= clusters[t] != previous[t];
      previous[t] = clusters[t];
    }
    if (!__syncthreads_or(changed) || iteration == max_iter) {
      if (threadIdx.x == 0) iterations[v] = iteration;
      return;
    }

    if (!fix_actions)
      for (int64_t i = 0; i < n; ++i) {
        if (threadIdx.x == 0) action_bounds(clusters, length, points[i], 2 * i + 1, bounds[0], bounds[1]);
        __syncthreads();
        const int64_t start = bounds[0], size = bounds[1] - bounds[0] + 1;
        for (int64_t k = threadIdx.x; k < size; k += blockDim.x) members[k] = start + k;
        __syncthreads();
        block_medoid(video, members, size, members, size, false, unit_sum, objective, &medoids[i]);
      }
    if (threadIdx.x == 0)
      slot_members(order, max_length, clusters, nearest, length, first_slot, num_slots, background_sample,
                   slot_counts, slot_offsets, members);
    __syncthreads();
    for (int64_t s = 0; s < num_slots; ++s)
      if (slot_counts[s] > 0)
        block_medoid(video, members + slot_offsets[s], slot_counts[s], members + slot_offsets[s], slot_counts[s],
                     false, unit_sum, objective, &slots[first_slot + s]);
  }
}

}  // namespace

template <typename T>
void constrained_kmedoids(const T* features, const int64_t* points, const int64_t* lengths, const int64_t* order,
                          int64_t batch, int64_t max_length, int64_t dim, int64_t max_points, int distance,
                          const int64_t* slot_begin, const int64_t* slot_end, int layout, bool fix_actions,
                          int64_t max_iter, int64_t background_sample, const int64_t* work_offsets, double* norms,
                          int64_t* costs, int64_t* previous, int64_t* members, int64_t* objective, int64_t* nearest,
                          int64_t* slot_work, double* unit_sums, int64_t* clusters, int64_t* medoids, int64_t* slots,
                          int64_t* iterations, void* stream) {
  if (batch == 0) return;
  launch("constrained_kmedoids", kmedoids_kernel<T>, batch, kThreads, 0, stream, features, points, lengths, order,
         max_length, dim, max_points, distance, slot_begin, slot_end, layout, fix_actions, max_iter,
         background_sample, work_offsets, norms, costs, previous, members, objective, nearest, slot_work, unit_sums,
         clusters, medoids, slots, iterations);
}

#define PTAL_INSTANTIATE(T)                                                                                         \
  template void constrained_kmedoids<T>(const T*, const int64_t*, const int64_t*, const int64_t*, int64_t, int64_t, \
                                        int64_t, int64_t, int, const int64_t*, const int64_t*, int, bool, int64_t,  \
                                        int64_t, const int64_t*, double*, int64_t*, int64_t*, int64_t*, int64_t*,   \
                                        int64_t*, int64_t*, double*, int64_t*, int64_t*, int64_t*, int64_t*, void*);
PTAL_INSTANTIATE(float)
PTAL_INSTANTIATE(double)

}  // namespace ptal::cuda
