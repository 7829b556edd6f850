// What the tests control and read of the CPU harness (runtime.h), bound in the harness's Python module.
#pragma once
#include <cstdint>

namespace ptal::cuda_on_cpu {

// The order of the blocks: 0 runs them in order, another seed shuffles each launch's blocks differently.
void set_block_order_seed(std::uint64_t seed);

// Launches and blocks run so far (the tests check that the emulated kernels really ran).
std::int64_t launches();
std::int64_t blocks();

}  // namespace ptal::cuda_on_cpu
