// OpenMP helpers for the CPU kernels (serial when built without OpenMP).
#pragma once
#include <cstdint>
#ifdef PTAL_OPENMP
#include <omp.h>
#endif

namespace ptal {

inline int max_threads() {
#ifdef PTAL_OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

}  // namespace ptal
