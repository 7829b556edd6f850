// How ptal's CUDA kernels are launched, and their one declaration CUDA spells in a way plain C++ cannot.
//
// Built by nvcc (the _cuda module), launch() is the plain kernel<<<grid, block, shared_bytes, stream>>> launch
// followed by a check of its error. Built by g++ for the CPU harness (PTAL_CUDA_ON_CPU, csrc/cuda_on_cpu/,
// test-only), the same kernels run their blocks on CPU threads, one real thread per CUDA thread.
#pragma once
#ifdef PTAL_CUDA_ON_CPU
#include "cuda_on_cpu/runtime.h"
#else
#include <cuda_runtime.h>
#endif

#include <cstddef>
#include <stdexcept>
#include <string>

// The block's dynamic shared memory (the launch's shared_bytes) as an array `name` of T.
#ifdef PTAL_CUDA_ON_CPU
#define PTAL_DYNAMIC_SHARED(T, name) T* const name = ::ptal::cuda_on_cpu::dynamic_shared<T>()
#else
#define PTAL_DYNAMIC_SHARED(T, name) extern __shared__ T name[]
#endif

namespace ptal::cuda {

// Launches kernel<<<grid, block, shared_bytes, stream>>>(args...); throws std::runtime_error naming `name`
// when the launch fails (on the CPU harness, also when a block breaks a rule the harness checks).
template <typename... Params, typename... Args>
void launch(const char* name, void (*kernel)(Params...), dim3 grid, dim3 block, std::size_t shared_bytes,
            void* stream, Args... args) {
#ifdef PTAL_CUDA_ON_CPU
  cuda_on_cpu::run(name, grid, block, shared_bytes, [&] { kernel(args...); });
#else
  kernel<<<grid, block, shared_bytes, static_cast<cudaStream_t>(stream)>>>(args...);
  const cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess)
    throw std::runtime_error(std::string("ptal: CUDA kernel ") + name + " failed: " + cudaGetErrorString(err));
#endif
}

}  // namespace ptal::cuda
