// PTAL_HD marks functions shared by the C++ and the CUDA kernels.
#pragma once
#ifdef __CUDACC__
#define PTAL_HD __host__ __device__ __forceinline__
#else
#define PTAL_HD inline
#endif
