#include <cstdint>

#include "common/iou.h"
#include "cuda/launch.cuh"
#include "kernels_cuda.h"

namespace ptal::cuda {
namespace {

constexpr int kTile = 64;

// Tiles of a group's mask, before its row of 64-row blocks `r`: the upper triangle of a words x words grid
// of tiles, row-major, has words - r tiles in row r.
__device__ __forceinline__ int64_t tiles_before_row(int64_t r, int64_t words) { return r * words - r * (r - 1) / 2; }

// Block b computes one 64x64 tile of one group's suppression bitmask: bit (j % 64) of word
// mask[row i][j / 64] is set when row i (higher score) suppresses row j > i. Only the tiles on or above the
// diagonal are launched (the sweep never reads the lower triangle).
template <typename T>
__global__ void nms_mask_kernel(const T* segments, const int64_t* group_offsets, const int64_t* tile_offsets,
                                const int64_t* mask_offsets, int64_t num_groups, T iou_threshold,
                                T length_offset, T union_epsilon, bool suppress_at_threshold, uint64_t* mask) {
  const int64_t tile = blockIdx.x;
  int64_t lo = 0, hi = num_groups;  // find g with tile_offsets[g] <= tile < tile_offsets[g + 1]
  while (hi - lo > 1) {
    const int64_t mid = (lo + hi) / 2;
    if (tile_offsets[mid] <= tile) lo = mid; else hi = mid;
  }
  const int64_t g = lo;
  const int64_t begin = group_offsets[g], n = group_offsets[g + 1] - begin;
  const int64_t words = (n + kTile - 1) / kTile;
  const int64_t local = tile - tile_offsets[g];
  int64_t row_block = 0, after = words;  // the last row r with tiles_before_row(r) <= local
  while (after - row_block > 1) {
    const int64_t mid = (row_block + after) / 2;
    if (tiles_before_row(mid, words) <= local) row_block = mid; else after = mid;
  }
  const int64_t col_block = row_block + (local - tiles_before_row(row_block, words));

  __shared__ T cols[kTile * 2];
  const int64_t col_begin = col_block * kTile;
  const int64_t num_cols = min(static_cast<int64_t>(kTile), n - col_begin);
  if (threadIdx.x < num_cols) {
    cols[2 * threadIdx.x] = segments[2 * (begin + col_begin + threadIdx.x)];
    cols[2 * threadIdx.x + 1] = segments[2 * (begin + col_begin + threadIdx.x) + 1];
  }
  __syncthreads();

  const int64_t i = row_block * kTile + threadIdx.x;
  if (i >= n) return;
  const T s = segments[2 * (begin + i)], e = segments[2 * (begin + i) + 1];
  uint64_t bits = 0;
  for (int64_t c = 0; c < num_cols; ++c) {
    if (col_begin + c <= i) continue;
    const T iou = segment_iou(s, e, cols[2 * c], cols[2 * c + 1], length_offset, union_epsilon);
    if (suppresses(iou, iou_threshold, suppress_at_threshold)) bits |= 1ull << c;
  }
  mask[mask_offsets[g] + i * words + col_block] = bits;
}

// One warp per group walks its rows in score order; `removed` (shared) is the union of the mask rows
// of the rows kept so far. The lanes test a row's bit, then (row kept) update `removed`: the first __syncwarp
// orders every lane's tests before any update (without it, a lane still testing this word races with the
// update, harmlessly, as a row's mask has only bits of later rows, but a data race all the same).
__global__ void nms_sweep_kernel(const int64_t* group_offsets, const int64_t* mask_offsets,
                                 const uint64_t* mask, uint8_t* keep) {
  PTAL_DYNAMIC_SHARED(uint64_t, removed);
  const int64_t g = blockIdx.x;
  const int64_t begin = group_offsets[g], n = group_offsets[g + 1] - begin;
  const int64_t words = (n + kTile - 1) / kTile;
  for (int64_t w = threadIdx.x; w < words; w += blockDim.x) removed[w] = 0;
  __syncwarp();
  const uint64_t* group_mask = mask + mask_offsets[g];
  for (int64_t i = 0; i < n; ++i) {
    if (removed[i / kTile] & (1ull << (i % kTile))) continue;
    if (threadIdx.x == 0) keep[begin + i] = 1;
    __syncwarp();
    for (int64_t w = i / kTile + threadIdx.x; w < words; w += blockDim.x) removed[w] |= group_mask[i * words + w];
    __syncwarp();
  }
}

}  // namespace

template <typename T>
void temporal_nms(const T* segments, const int64_t* group_offsets, const int64_t* tile_offsets,
                  const int64_t* mask_offsets, int64_t num_groups, int64_t num_tiles, int64_t max_words,
                  T iou_threshold, T length_offset, T union_epsilon, bool suppress_at_threshold, uint64_t* mask,
                  uint8_t* keep, void* stream) {
  if (num_groups == 0 || num_tiles == 0) return;
  launch("temporal_nms (mask)", nms_mask_kernel<T>, static_cast<unsigned int>(num_tiles), kTile, 0, stream, segments,
         group_offsets, tile_offsets, mask_offsets, num_groups, iou_threshold, length_offset, union_epsilon,
         suppress_at_threshold, mask);
  launch("temporal_nms (sweep)", nms_sweep_kernel, num_groups, 32, max_words * sizeof(uint64_t), stream, group_offsets,
         mask_offsets, mask, keep);
}

template void temporal_nms<float>(const float*, const int64_t*, const int64_t*, const int64_t*, int64_t, int64_t,
                                  int64_t, float, float, float, bool, uint64_t*, uint8_t*, void*);
template void temporal_nms<double>(const double*, const int64_t*, const int64_t*, const int64_t*, int64_t, int64_t,
                                   int64_t, double, double, double, bool, uint64_t*, uint8_t*, void*);

const char* architectures() { return PTAL_CUDA_ARCHITECTURES; }

}  // namespace ptal::cuda
