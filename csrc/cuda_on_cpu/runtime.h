// CUDA on the CPU, for tests only: what ptal's kernels (csrc/cuda/*.cu) use of CUDA, in plain C++, so that g++
// compiles the very kernel code that nvcc compiles and runs it on CPU threads. Included by csrc/cuda/launch.cuh
// when PTAL_CUDA_ON_CPU is defined (CMake option PTAL_CUDA_ON_CPU; tests/cuda_on_cpu/ builds and runs it).
//
// A launch runs its blocks one at a time, in a shuffled order (a GPU promises none), each with one real thread
// per CUDA thread; the block's threads start together and all finish before the next block starts. So a
// `__shared__` array can be a static variable: one per kernel, used by one block at a time. What this can and
// cannot show: csrc/cuda_on_cpu/README.md.
#pragma once
#include <math.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <type_traits>

#include "cuda_on_cpu/control.h"

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static

struct uint3 {
  unsigned int x, y, z;
};

struct dim3 {
  unsigned int x, y, z;
  constexpr dim3(unsigned int x = 1, unsigned int y = 1, unsigned int z = 1) : x(x), y(y), z(z) {}
};

using cudaStream_t = struct CUstream_st*;

// CUDA's built-in variables, set for each CPU thread as it runs a block.
inline thread_local uint3 threadIdx{0, 0, 0};
inline thread_local uint3 blockIdx{0, 0, 0};
inline thread_local dim3 blockDim;
inline thread_local dim3 gridDim;

// CUDA's min and max of two numbers of one type (integers compared, floating point as fmin/fmax).
template <typename T, typename = std::enable_if_t<std::is_integral_v<T>>>
constexpr T min(T a, T b) {
  return b < a ? b : a;
}
template <typename T, typename = std::enable_if_t<std::is_integral_v<T>>>
constexpr T max(T a, T b) {
  return a < b ? b : a;
}
inline float min(float a, float b) { return fminf(a, b); }
inline float max(float a, float b) { return fmaxf(a, b); }
inline double min(double a, double b) { return fmin(a, b); }
inline double max(double a, double b) { return fmax(a, b); }

namespace ptal::cuda_on_cpu {

// *address += value, atomically and unordered (as CUDA's atomics); returns the old value.
template <typename T>
T add_atomically(T* address, T value) {
  if constexpr (std::is_integral_v<T>) {
    return __atomic_fetch_add(address, value, __ATOMIC_RELAXED);
  } else {
    T old, sum;
    __atomic_load(address, &old, __ATOMIC_RELAXED);
    do {
      sum = old + value;
    } while (!__atomic_compare_exchange(address, &old, &sum, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
    return old;
  }
}

}  // namespace ptal::cuda_on_cpu

// CUDA's atomicAdd, for the types CUDA has it for (that kernels use).
inline int atomicAdd(int* address, int value) { return ptal::cuda_on_cpu::add_atomically(address, value); }
inline unsigned int atomicAdd(unsigned int* address, unsigned int value) {
  return ptal::cuda_on_cpu::add_atomically(address, value);
}
inline unsigned long long atomicAdd(unsigned long long* address, unsigned long long value) {
  return ptal::cuda_on_cpu::add_atomically(address, value);
}
inline float atomicAdd(float* address, float value) { return ptal::cuda_on_cpu::add_atomically(address, value); }
inline double atomicAdd(double* address, double value) { return ptal::cuda_on_cpu::add_atomically(address, value); }

namespace ptal::cuda_on_cpu {

// Where a barrier is in the kernel's source, for the divergence check and the planted race of the tests.
struct Site {
  const char* file;
  int line;
};

// __syncthreads and its _count/_and/_or forms: waits for every thread of the block that has not returned, and
// counts those that arrived with a nonzero predicate.
struct Arrival {
  int count, threads;
  bool all() const { return count == threads; }
};
Arrival sync_block(bool predicate, Site site);

// __syncwarp: waits for every lane of the thread's warp (32 consecutive threads) that has not returned.
void sync_warp(Site site, unsigned int mask = 0xffffffffu);

// The running block's dynamic shared memory (the launch's shared_bytes, filled with 0xff bytes before each block).
void* dynamic_shared_memory();
template <typename T>
T* dynamic_shared() {
  return static_cast<T*>(dynamic_shared_memory());
}

// Runs `kernel` (a call of the kernel with its arguments) for every thread of every block of the grid, after
// checking the launch as CUDA does; throws std::runtime_error naming `name` when the launch is invalid or a
// block broke a rule the harness checks (a barrier not reached by every thread of the block or warp).
void run(const char* name, dim3 grid, dim3 block, std::size_t shared_bytes, const std::function<void()>& kernel);

}  // namespace ptal::cuda_on_cpu

#define PTAL_CUDA_ON_CPU_SITE \
  ::ptal::cuda_on_cpu::Site { __FILE__, __LINE__ }
#define __syncthreads() ((void)::ptal::cuda_on_cpu::sync_block(false, PTAL_CUDA_ON_CPU_SITE))
#define __syncthreads_count(predicate) (::ptal::cuda_on_cpu::sync_block((predicate) != 0, PTAL_CUDA_ON_CPU_SITE).count)
#define __syncthreads_or(predicate) \
  (::ptal::cuda_on_cpu::sync_block((predicate) != 0, PTAL_CUDA_ON_CPU_SITE).count > 0 ? 1 : 0)
#define __syncthreads_and(predicate) \
  (::ptal::cuda_on_cpu::sync_block((predicate) != 0, PTAL_CUDA_ON_CPU_SITE).all() ? 1 : 0)
#define __syncwarp(...) ::ptal::cuda_on_cpu::sync_warp(PTAL_CUDA_ON_CPU_SITE, ##__VA_ARGS__)
