#include <algorithm>
#include <cstring>

#include "kernels_cpu.h"

namespace ptal::cpu {

namespace {

// One stretch [begin, t) of snippets without points, summarised while it is scanned: its background-seed
// candidates (b >= bkg_thresh), its first argmax of b, and its first and last "stoppers" (b > act_thresh),
// where an action walk halts.
template <typename T>
struct Stretch {
  int64_t begin, hits, first_hit, last_hit, peak, first_stop, last_stop;
  T peak_score;

  Stretch(int64_t start, int64_t time)
      : begin(start), hits(0), first_hit(time), last_hit(-1), peak(start), first_stop(time), last_stop(-1),
        peak_score(0) {}

  void add(int64_t t, T score, T bkg_thresh, T act_thresh) {
    if (score >= bkg_thresh) {
      ++hits;
      first_hit = std::min(first_hit, t);
      last_hit = t;
    }
    if (t == begin || score > peak_score) {
      peak = t;
      peak_score = score;
    }
    if (!(score <= act_thresh)) {
      first_stop = std::min(first_stop, t);
      last_stop = t;
    }
  }
};

}  // namespace

template <typename T>
void select_seeds(const T* background, const uint8_t* anchors, const int64_t* lengths, int64_t batch, int64_t time,
                  int64_t classes, T bkg_thresh, T act_thresh, uint8_t* act_seed, uint8_t* bkg_seed) {
#pragma omp parallel for schedule(dynamic, 4)
  for (int64_t video = 0; video < batch; ++video) {
    const int64_t length = lengths[video];
    const T* score = background + video * time;
    const uint8_t* anchor = anchors + video * time;
    uint8_t* bkg = bkg_seed + video * time;
    uint8_t* act = act_seed + video * time * classes;
    const auto copy_row = [&](int64_t from, int64_t to) {
      std::memcpy(act + to * classes, act + from * classes, classes);
    };
    int64_t previous = -1;  // the last point, -1 before the first
    Stretch<T> stretch(0, time);
    // t == length closes the last stretch as if a point followed the video.
    for (int64_t t = 0; t <= length; ++t) {
      if (t < length && !anchor[t]) {
        stretch.add(t, score[t], bkg_thresh, act_thresh);
        continue;
      }
      const int64_t begin = stretch.begin, end = t - 1;
      if (end >= begin) {
        const bool has_left = previous >= 0, has_right = t < length;
        // Background seeds [first_seed, last_seed]: a prefix left of the first point, a suffix right of the
        // last one, between two points the span of the candidates if there are two or more, else the peak.
        int64_t first_seed = begin, last_seed = end;
        if (!has_left && has_right) {
          last_seed = stretch.hits > 0 ? stretch.last_hit : stretch.peak;
        } else if (has_left && !has_right) {
          first_seed = stretch.hits > 0 ? stretch.first_hit : stretch.peak;
        } else if (has_left && has_right) {
          first_seed = stretch.hits >= 2 ? stretch.first_hit : stretch.peak;
          last_seed = stretch.hits >= 2 ? stretch.last_hit : stretch.peak;
        }
        std::fill(bkg + first_seed, bkg + last_seed + 1, uint8_t{1});
        // The walks end at the first background seed or stopper they meet.
        if (has_left) {
          for (int64_t u = begin; u < std::min(first_seed, stretch.first_stop); ++u) copy_row(previous, u);
        }
        if (has_right) {
          for (int64_t u = end; u > std::max(last_seed, stretch.last_stop); --u) copy_row(t, u);
        }
      }
      previous = t;
      stretch = Stretch<T>(t + 1, time);
    }
  }
}

template void select_seeds<float>(const float*, const uint8_t*, const int64_t*, int64_t, int64_t, int64_t, float,
                                  float, uint8_t*, uint8_t*);
template void select_seeds<double>(const double*, const uint8_t*, const int64_t*, int64_t, int64_t, int64_t, double,
                                   double, uint8_t*, uint8_t*);

}  // namespace ptal::cpu
