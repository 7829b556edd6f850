// Checks of the CPU harness itself (csrc/cuda_on_cpu/): CUDA's indices, the barriers and their votes, shared
// memory, and the rules a launch or a block can break, on small kernels written for these checks. Built by CMake
// (PTAL_CUDA_ON_CPU) as cuda_on_cpu_selftest; prints "ok NAME" or "FAIL NAME: why" per check, exits 1 on a failure.
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include "cuda/launch.cuh"

namespace {

using ptal::cuda::launch;

// Every thread of a 3-D grid of 3-D blocks counts itself at its global linear index.
__global__ void count_threads(int* hits) {
  const unsigned block = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
  const unsigned thread = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
  hits[block * blockDim.x * blockDim.y * blockDim.z + thread] += 1;
}

// Thread t votes t % 3 == 0 in each form of __syncthreads; thread 0 writes the block's results.
__global__ void vote(int* out) {
  const bool yes = threadIdx.x % 3 == 0;
  const int count = __syncthreads_count(yes), any = __syncthreads_or(yes), all = __syncthreads_and(yes);
  const int none = __syncthreads_or(0), every = __syncthreads_and(1);
  if (threadIdx.x == 0) {
    int* block = out + 5 * blockIdx.x;
    block[0] = count, block[1] = any, block[2] = all, block[3] = none, block[4] = every;
  }
}

// Reverses each block's values through static shared memory; records the first word of the dynamic shared
// memory as the block found it, then overwrites it.
__global__ void reverse(const int* in, int* out, unsigned* found) {
  __shared__ int values[128];
  PTAL_DYNAMIC_SHARED(unsigned, scratch);
  const int base = blockIdx.x * blockDim.x;
  if (threadIdx.x == 0) found[blockIdx.x] = scratch[0];
  values[threadIdx.x] = in[base + threadIdx.x];
  __syncthreads();
  out[base + threadIdx.x] = values[blockDim.x - 1 - threadIdx.x];
  if (threadIdx.x == 0) scratch[0] = 0;
}

// Every thread adds 1 to each total, atomically.
__global__ void add_up(int* i, unsigned int* u, unsigned long long* ull, float* f, double* d) {
  atomicAdd(i, 1), atomicAdd(u, 1u), atomicAdd(ull, 1ull), atomicAdd(f, 1.0f), atomicAdd(d, 1.0);
}

// Broken rules: two barriers for one block, a thread returning before a barrier, __syncwarp in a partial warp.
__global__ void two_barriers() {
  if (threadIdx.x % 2) {
    __syncthreads();
  } else {
    __syncthreads();
  }
}
__global__ void return_before_barrier() {
  if (threadIdx.x == 5) return;
  __syncthreads();
}
__global__ void warp_barrier() { __syncwarp(); }

int failures = 0;

void check(const char* name, const std::string& why) {
  std::printf(why.empty() ? "ok %s\n" : "FAIL %s: %s\n", name, why.c_str());
  failures += !why.empty();
}

// "" when running `launcher` throws a message holding `expected`, else why not.
template <typename Launcher>
std::string fails_with(Launcher launcher, const std::string& expected) {
  try {
    launcher();
  } catch (const std::runtime_error& error) {
    const std::string what = error.what();
    return what.find(expected) != std::string::npos ? "" : "the message was: " + what;
  }
  return "the launch did not fail";
}

}  // namespace

int main() {
  {
    const dim3 grid(3, 2, 2), block(4, 3, 2);
    std::vector<int> hits(3 * 2 * 2 * 4 * 3 * 2, 0);
    launch("count_threads", count_threads, grid, block, 0, nullptr, hits.data());
    std::string why;
    for (std::size_t i = 0; i < hits.size(); ++i)
      if (hits[i] != 1) why = "thread " + std::to_string(i) + " ran " + std::to_string(hits[i]) + " times";
    check("every thread of a 3-D grid of 3-D blocks runs once", why);
  }
  {
    std::vector<int> out(5 * 2, -1);
    launch("vote", vote, 2, 100, 0, nullptr, out.data());  // 34 of 100 threads vote yes
    const std::vector<int> expected{34, 1, 0, 0, 1, 34, 1, 0, 0, 1};
    check("__syncthreads_count, _or and _and count the block's votes", out == expected ? "" : "wrong votes");
  }
  {
    const int blocks = 50, threads = 128;
    std::vector<int> in(blocks * threads), out(blocks * threads);
    std::vector<unsigned> found(blocks, 0);
    for (int i = 0; i < blocks * threads; ++i) in[i] = i;
    launch("reverse", reverse, blocks, threads, 64, nullptr, in.data(), out.data(), found.data());
    std::string why;
    for (int i = 0; i < blocks * threads; ++i)
      if (out[i] != (i / threads) * threads + threads - 1 - i % threads) why = "wrong value at " + std::to_string(i);
    check("a block's threads share static shared memory through __syncthreads", why);
    bool poisoned = true;
    for (const unsigned word : found) poisoned = poisoned && word == 0xffffffffu;
    check("dynamic shared memory starts each block filled with 0xff bytes", poisoned ? "" : "a block found a 0");
  }
  {
    int i = 0;
    unsigned int u = 0;
    unsigned long long ull = 0;
    float f = 0;
    double d = 0;
    launch("add_up", add_up, 4, 256, 0, nullptr, &i, &u, &ull, &f, &d);
    const bool exact = i == 1024 && u == 1024 && ull == 1024 && f == 1024.0f && d == 1024.0;
    check("atomicAdd of 1 024 threads on int, unsigned, unsigned long long, float, double", exact ? "" : "lost adds");
  }
  check("threads of a block at two different barriers are reported",
        fails_with([] { launch("two_barriers", two_barriers, 3, 64, 0, nullptr); }, "wait at different barriers"));
  check("a thread returning while the others wait at a barrier is reported",
        fails_with([] { launch("return_before_barrier", return_before_barrier, 2, 64, 0, nullptr); },
                   "returned"));
  check("__syncwarp in a warp of fewer than 32 threads is reported",
        fails_with([] { launch("warp_barrier", warp_barrier, 1, 40, 0, nullptr); }, "full mask of a full warp"));
  check("a block of more than 1024 threads is refused",
        fails_with([] { launch("warp_barrier", warp_barrier, 1, 1025, 0, nullptr); }, "invalid configuration"));
  check("an empty grid is refused",
        fails_with([] { launch("warp_barrier", warp_barrier, 0, 32, 0, nullptr); }, "invalid configuration"));
  check("more than 48 KiB of dynamic shared memory is refused",
        fails_with([] { launch("warp_barrier", warp_barrier, 1, 32, 48 * 1024 + 1, nullptr); }, "48 KiB"));
  return failures ? 1 : 0;
}
