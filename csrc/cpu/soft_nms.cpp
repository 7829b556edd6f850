#include <cmath>
#include <vector>

#include "common/iou.h"
#include "cpu/start_index.h"
#include "kernels_cpu.h"

namespace ptal::cpu {
namespace {

// A tournament tree over the positions of a StartIndex: every node holds the best position below it, the one
// of highest current score, ties by lower row (-1: none left). Selecting is reading the root; a decay of the
// positions [first, last) is followed by refresh(first, last), which recomputes their ancestors only.
class Tournament {
 public:
  Tournament(const double* score, const int64_t* row, int64_t n) : score_(score), row_(row), leaves_(1) {
    while (leaves_ < n) leaves_ *= 2;
    node_.assign(2 * leaves_, -1);
    for (int64_t k = 0; k < n; ++k) node_[leaves_ + k] = k;
    for (int64_t i = leaves_ - 1; i >= 1; --i) node_[i] = better(node_[2 * i], node_[2 * i + 1]);
  }

  int64_t best() const { return node_[1]; }
  bool removed(int64_t k) const { return node_[leaves_ + k] < 0; }

  void remove(int64_t k) {
    node_[leaves_ + k] = -1;
    refresh(k, k + 1);
  }

  void refresh(int64_t first, int64_t last) {
    for (int64_t lo = (leaves_ + first) / 2, hi = (leaves_ + last - 1) / 2; lo >= 1; lo /= 2, hi /= 2)
      for (int64_t i = lo; i <= hi; ++i) node_[i] = better(node_[2 * i], node_[2 * i + 1]);
  }

 private:
  int64_t better(int64_t a, int64_t b) const {
    if (a < 0 || b < 0) return a < 0 ? b : a;
    if (score_[a] != score_[b]) return score_[a] > score_[b] ? a : b;
    return row_[a] < row_[b] ? a : b;
  }

  const double* score_;
  const int64_t* row_;
  int64_t leaves_;
  std::vector<int64_t> node_;
};

}  // namespace

template <typename T>
void soft_nms(const T* segments, const T* scores, const int64_t* group_offsets, int64_t num_groups,
              int method, double sigma, double iou_threshold, double min_score, int64_t max_keep,
              double union_epsilon, double* work, int64_t* out_rows, double* out_scores, int64_t* out_counts) {
  // Only segments that overlap the selected one (IoU > 0) have their score changed (every weight is 1 at
  // IoU 0); they lie in its StartIndex window.
#pragma omp parallel for schedule(dynamic, 4) if (num_groups > 1)
  for (int64_t g = 0; g < num_groups; ++g) {
    const int64_t begin = group_offsets[g], n = group_offsets[g + 1] - begin;
    const StartIndex<T> index(segments + 2 * begin, n);
    double* current = work + begin;  // current score by position in `index`
    for (int64_t k = 0; k < n; ++k) current[k] = static_cast<double>(scores[begin + index.row[k]]);
    Tournament tournament(current, index.row.data(), n);
    int64_t count = 0;
    for (int64_t best = tournament.best(); count < max_keep && best >= 0 && current[best] >= min_score;
         best = tournament.best()) {
      out_rows[begin + count] = begin + index.row[best];
      out_scores[begin + count] = current[best];
      ++count;
      tournament.remove(best);
      if (count == max_keep) break;  // no selection follows: the decays would change nothing
      const double s = index.start[best], e = index.end[best];
      int64_t first, last;
      index.window(index.start[best], index.end[best], first, last);
      for (int64_t k = first; k < last; ++k) {
        const double sk = index.start[k], ek = index.end[k];
        if (tournament.removed(k) || !overlap(s, e, sk, ek)) continue;
        const double iou = ptal::segment_iou<double>(s, e, sk, ek, 0.0, union_epsilon);
        current[k] *= soft_nms_weight(iou, method, sigma, iou_threshold);
      }
      if (first < last) tournament.refresh(first, last);
    }
    out_counts[g] = count;
  }
}

template void soft_nms<float>(const float*, const float*, const int64_t*, int64_t, int, double, double,
                              double, int64_t, double, double*, int64_t*, double*, int64_t*);
template void soft_nms<double>(const double*, const double*, const int64_t*, int64_t, int, double, double,
                               double, int64_t, double, double*, int64_t*, double*, int64_t*);

}  // namespace ptal::cpu
