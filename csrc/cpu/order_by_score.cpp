#include <vector>

#include "cpu/start_index.h"
#include "kernels_cpu.h"

namespace ptal::cpu {

template <typename T>
void order_by_score(const T* scores, const int64_t* indices, int64_t n, int64_t* order) {
  // By index, then (stably) by decreasing score.
  const std::vector<int64_t> by_index = sorted_rows(indices, 1, n, false);
  std::vector<T> scores_by_index(n);
  for (int64_t i = 0; i < n; ++i) scores_by_index[i] = scores[by_index[i]];
  const std::vector<int64_t> by_score = sorted_rows(scores_by_index.data(), 1, n, true);
  for (int64_t i = 0; i < n; ++i) order[i] = by_index[by_score[i]];
}

template void order_by_score<float>(const float*, const int64_t*, int64_t, int64_t*);
template void order_by_score<double>(const double*, const int64_t*, int64_t, int64_t*);

}  // namespace ptal::cpu
