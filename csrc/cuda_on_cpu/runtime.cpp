// The CPU harness's runtime (runtime.h): launches, blocks, barriers. Linux only (threads sleep on futexes:
// hundreds of threads share two cores, and a barrier must wake them at the cost of one system call).
#include "cuda_on_cpu/runtime.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace ptal::cuda_on_cpu {
namespace {

constexpr int kWarpSize = 32;

std::string where(Site site) { return std::string(site.file) + ":" + std::to_string(site.line); }

// A counter that threads sleep on until it moves on from a value they saw.
class Generation {
 public:
  std::uint32_t now() const { return value_.load(std::memory_order_acquire); }
  void wait_past(std::uint32_t seen) {
    while (now() == seen) syscall(SYS_futex, word(), FUTEX_WAIT_PRIVATE, seen, nullptr, nullptr, 0);
  }
  void advance() { value_.fetch_add(1, std::memory_order_acq_rel); }
  void wake() { syscall(SYS_futex, word(), FUTEX_WAKE_PRIVATE, INT_MAX, nullptr, nullptr, 0); }

 private:
  std::uint32_t* word() { return reinterpret_cast<std::uint32_t*>(&value_); }
  std::atomic<std::uint32_t> value_{0};
};
static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t));

// The first rule a launch broke, if any.
class Failure {
 public:
  void report(const std::string& what) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (what_.empty()) what_ = what;
  }
  std::string what() {
    std::lock_guard<std::mutex> lock(mutex_);
    return what_;
  }

 private:
  std::mutex mutex_;
  std::string what_;
};

// A barrier for the threads of a block (or warp) that have not returned. A barrier that some threads reach
// while others returned, or reach at another barrier of the source, is reported: CUDA requires every thread
// of the block to reach the same __syncthreads (every lane of the mask the same __syncwarp). The barrier is
// then released all the same (as a GPU's counting barrier would be), so that a faulty kernel ends.
class Barrier {
 public:
  void reset(int members) {
    std::lock_guard<std::mutex> lock(mutex_);
    members_ = members;
    arrived_ = count_ = left_ = 0;
  }

  Arrival arrive(bool predicate, Site site, Failure& failure) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (left_ > 0)
      failure.report("the barrier at " + where(site) + " was reached after " + std::to_string(left_) +
                     " thread(s) of the block or warp returned");
    if (arrived_ == 0) {
      site_ = site;
    } else if (site.line != site_.line || std::strcmp(site.file, site_.file) != 0) {
      failure.report("threads of one block or warp wait at different barriers: " + where(site_) + " and " +
                     where(site));
    }
    count_ += predicate;
    ++arrived_;
    const std::uint32_t seen = released_.now();
    const bool last = arrived_ == members_;
    if (last) release();
    lock.unlock();
    if (last) released_.wake();
    else released_.wait_past(seen);
    return released_with_;  // rewritten only once this thread has arrived again
  }

  // A thread returned from the kernel.
  void leave(Failure& failure) {
    std::unique_lock<std::mutex> lock(mutex_);
    --members_;
    ++left_;
    if (arrived_ == 0) return;
    failure.report("a thread returned while others of its block or warp wait at the barrier at " + where(site_));
    if (arrived_ < members_) return;
    release();
    lock.unlock();
    released_.wake();
  }

 private:
  void release() {  // under the lock
    released_with_ = {count_, arrived_};
    arrived_ = count_ = 0;
    released_.advance();
  }

  std::mutex mutex_;
  Generation released_;
  int members_ = 0, arrived_ = 0, count_ = 0, left_ = 0;
  Site site_{"", 0};
  Arrival released_with_{0, 0};
};

// One launch: its blocks, run by `threads` CPU threads together, one block after another.
class Launch {
 public:
  Launch(dim3 grid, dim3 block, std::size_t shared_bytes, std::uint64_t order_seed,
         const std::function<void()>& kernel)
      : grid_(grid),
        block_(block),
        threads_(static_cast<int>(block.x * block.y * block.z)),
        kernel_(kernel),
        shared_bytes_(shared_bytes),
        shared_(shared_bytes ? static_cast<std::byte*>(::operator new[](shared_bytes, std::align_val_t{16}))
                             : nullptr),
        warps_((threads_ + kWarpSize - 1) / kWarpSize) {
    order_.resize(static_cast<std::size_t>(grid.x) * grid.y * grid.z);
    std::iota(order_.begin(), order_.end(), std::int64_t{0});
    if (order_seed != 0) std::shuffle(order_.begin(), order_.end(), std::mt19937_64(order_seed));
    prepare_block();
  }
  ~Launch() {
    if (shared_) ::operator delete[](shared_, std::align_val_t{16});
  }

  int threads() const { return threads_; }
  std::int64_t blocks() const { return static_cast<std::int64_t>(order_.size()); }
  std::byte* shared() const { return shared_; }
  std::string failure() { return failure_.what(); }

  // CPU thread t's part: CUDA thread t of every block.
  void work(int t);

  Arrival sync_block(bool predicate, Site site) { return block_barrier_.arrive(predicate, site, failure_); }

  void sync_warp(int thread, Site site, unsigned int mask) {
    const int warp = thread / kWarpSize, lanes = std::min(kWarpSize, threads_ - warp * kWarpSize);
    if (mask != 0xffffffffu || lanes != kWarpSize)
      failure_.report("__syncwarp at " + where(site) + ": the CPU harness supports the full mask of a full warp only");
    warps_[warp].arrive(false, site, failure_);
  }

 private:
  bool finish_block();

  void prepare_block() {
    block_barrier_.reset(threads_);
    for (std::size_t w = 0; w < warps_.size(); ++w)
      warps_[w].reset(std::min(kWarpSize, threads_ - static_cast<int>(w) * kWarpSize));
    if (shared_) std::memset(shared_, 0xff, shared_bytes_);
  }

  const dim3 grid_, block_;
  const int threads_;
  const std::function<void()>& kernel_;
  const std::size_t shared_bytes_;
  std::byte* const shared_;
  std::vector<std::int64_t> order_;
  Failure failure_;
  Barrier block_barrier_;
  std::vector<Barrier> warps_;
  // Between blocks: every thread has finished the block before the last one prepares the next and lets all go.
  std::mutex join_mutex_;
  Generation joined_;
  int finished_ = 0;
  bool stop_ = false;
};

// What the calling CPU thread runs now.
struct Current {
  Launch* launch = nullptr;
  int thread = 0;
};
thread_local Current current;

void Launch::work(int t) {
  current = {this, t};
  blockDim = block_;
  gridDim = grid_;
  threadIdx = {static_cast<unsigned int>(t % block_.x), static_cast<unsigned int>(t / block_.x % block_.y),
               static_cast<unsigned int>(t / (block_.x * block_.y))};
  for (const std::int64_t b : order_) {
    blockIdx = {static_cast<unsigned int>(b % grid_.x), static_cast<unsigned int>(b / grid_.x % grid_.y),
                static_cast<unsigned int>(b / (static_cast<std::int64_t>(grid_.x) * grid_.y))};
    kernel_();
    block_barrier_.leave(failure_);
    warps_[t / kWarpSize].leave(failure_);
    if (!finish_block()) break;
  }
  current = {};
}

// Waits until every thread has finished the block; the last one prepares the next. False: stop here.
bool Launch::finish_block() {
  std::unique_lock<std::mutex> lock(join_mutex_);
  const std::uint32_t seen = joined_.now();
  if (++finished_ == threads_) {
    finished_ = 0;
    stop_ = !failure_.what().empty();
    prepare_block();
    joined_.advance();
    lock.unlock();
    joined_.wake();
  } else {
    lock.unlock();
    joined_.wait_past(seen);
  }
  return !stop_;  // written before the advance this thread waited for, rewritten only after its next finish
}

// CPU threads kept between launches: worker w runs CUDA thread w of every launch that has that many.
class Workers {
 public:
  // Runs the launch on its threads; returns when all have finished.
  void run(Launch& launch) {
    const std::uint32_t before = started_.now();
    while (count_ < launch.threads()) {  // they wait for the start below
      const int index = count_++;
      std::thread([this, index, before] { serve(index, before); }).detach();
    }
    const std::uint32_t seen = finished_.now();
    {
      // The start's generation moves with launch_, under the lock: a worker that reads both together works on
      // each launch once (it then waits for the next generation, which comes with the next launch only).
      std::lock_guard<std::mutex> lock(mutex_);
      launch_ = &launch;
      unfinished_ = launch.threads();
      started_.advance();
    }
    started_.wake();
    finished_.wait_past(seen);
  }

 private:
  void serve(int index, std::uint32_t seen) {
    for (;;) {
      started_.wait_past(seen);
      Launch* launch;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        seen = started_.now();  // launch_'s generation (read apart, a later launch could be worked on twice)
        if (launch_ == nullptr || index >= launch_->threads()) continue;  // not one of this launch's threads
        launch = launch_;
      }
      launch->work(index);
      std::lock_guard<std::mutex> lock(mutex_);
      if (--unfinished_ == 0) {
        launch_ = nullptr;
        finished_.advance();
        finished_.wake();
      }
    }
  }

  int count_ = 0;  // changed by run() only, under launch_mutex
  std::mutex mutex_;
  Launch* launch_ = nullptr;
  int unfinished_ = 0;
  Generation started_, finished_;
};

std::mutex launch_mutex;  // one launch at a time: __shared__ arrays are static
Workers* workers = new Workers;  // never destroyed: its threads sleep until the process ends
std::uint64_t order_seed = 1;
std::atomic<std::int64_t> launch_count{0}, block_count{0};

std::string invalid_configuration(dim3 grid, dim3 block, std::size_t shared_bytes) {
  auto dims = [](dim3 d) {
    return "(" + std::to_string(d.x) + ", " + std::to_string(d.y) + ", " + std::to_string(d.z) + ")";
  };
  const std::uint64_t threads = std::uint64_t{block.x} * block.y * block.z;
  if (grid.x == 0 || grid.y == 0 || grid.z == 0) return "a grid of " + dims(grid) + " blocks";
  if (threads == 0 || threads > 1024 || block.x > 1024 || block.y > 1024 || block.z > 64)
    return "blocks of " + dims(block) + " threads (at most 1024, and (1024, 1024, 64) per dimension)";
  if (grid.x > 2147483647u || grid.y > 65535 || grid.z > 65535)
    return "a grid of " + dims(grid) + " blocks (at most (2^31 - 1, 65535, 65535))";
  if (shared_bytes > 48 * 1024)
    return std::to_string(shared_bytes) + " bytes of dynamic shared memory (at most 48 KiB without opting in)";
  return "";
}

#ifdef PTAL_CUDA_ON_CPU_DROP_BARRIER
// The planted race of the tests: the barrier at this "file:line" (the end of its path) does nothing.
bool dropped(Site site) {
  const std::string at = std::string(site.file) + ":" + std::to_string(site.line);
  const std::string drop = PTAL_CUDA_ON_CPU_DROP_BARRIER;
  return at.size() >= drop.size() && at.compare(at.size() - drop.size(), drop.size(), drop) == 0;
}
#else
bool dropped(Site) { return false; }
#endif

}  // namespace

Arrival sync_block(bool predicate, Site site) {
  if (dropped(site)) return {0, 0};
  return current.launch->sync_block(predicate, site);
}

void sync_warp(Site site, unsigned int mask) {
  if (dropped(site)) return;
  current.launch->sync_warp(current.thread, site, mask);
}

void* dynamic_shared_memory() { return current.launch->shared(); }

void run(const char* name, dim3 grid, dim3 block, std::size_t shared_bytes, const std::function<void()>& kernel) {
  const std::string invalid = invalid_configuration(grid, block, shared_bytes);
  if (!invalid.empty())
    throw std::runtime_error(std::string("ptal: CUDA kernel ") + name + " failed: invalid configuration: " + invalid);
  std::lock_guard<std::mutex> lock(launch_mutex);
  const std::int64_t index = launch_count++;
  Launch launch(grid, block, shared_bytes, order_seed == 0 ? 0 : order_seed + index, kernel);
  workers->run(launch);
  block_count += launch.blocks();
  const std::string failure = launch.failure();
  if (!failure.empty())
    throw std::runtime_error(std::string("ptal: CUDA kernel ") + name + " failed on the CPU harness: " + failure);
}

void set_block_order_seed(std::uint64_t seed) {
  std::lock_guard<std::mutex> lock(launch_mutex);
  order_seed = seed;
}

std::int64_t launches() { return launch_count; }
std::int64_t blocks() { return block_count; }

}  // namespace ptal::cuda_on_cpu
