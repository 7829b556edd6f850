// PTAL_HD marks functions shared by the C++ and the CUDA kernels.
#pragma once
#include <cmath>

#ifdef __CUDACC__
#define PTAL_HD __host__ __device__ __forceinline__
#else
#define PTAL_HD inline
#endif

namespace ptal {

// Neither NaN nor infinite.
PTAL_HD bool is_finite(double x) {
#ifdef __CUDA_ARCH__
  return ::isfinite(x);
#else
  return std::isfinite(x);
#endif
}

}  // namespace ptal
