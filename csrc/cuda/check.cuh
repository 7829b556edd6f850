#pragma once
#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

namespace ptal::cuda {

inline void check_launch(const char* kernel) {
  const cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess)
    throw std::runtime_error(std::string("ptal: CUDA kernel ") + kernel + " failed: " + cudaGetErrorString(err));
}

}  // namespace ptal::cuda
