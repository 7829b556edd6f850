#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include "common/sequence_search.h"
#include "kernels_cpu.h"

namespace ptal::cpu {
namespace {

// What every search of one (video, class) pair starts from: its transcript and prefix sums.
struct PairProblem {
  int64_t video, cls, length, row, num_segments;
  std::vector<uint8_t> labels;
  std::vector<int64_t> lo, hi;
  std::vector<double> prefix_background, prefix_action;

  const double* prefix(int64_t segment) const {
    return labels[segment] == kAction ? prefix_action.data() : prefix_background.data();
  }
};

template <typename T>
PairProblem make_problem(const T* cas, const uint8_t* act_seed, const uint8_t* background_seed,
                         const uint8_t* any_action, const int64_t* lengths, const int64_t* pairs, int64_t pair,
                         int64_t max_length, int64_t num_classes, int64_t cas_channels) {
  PairProblem problem;
  problem.video = pairs[2 * pair], problem.cls = pairs[2 * pair + 1];
  const int64_t length = problem.length = lengths[problem.video];
  problem.row = problem.video * max_length;
  const PairSeeds seeds{act_seed, background_seed, any_action, problem.row, problem.cls, num_classes};
  problem.labels.resize(length), problem.lo.resize(length), problem.hi.resize(length);
  problem.num_segments = build_transcript(length, seeds, problem.labels.data(), problem.lo.data(), problem.hi.data());
  problem.prefix_action.resize(length + 1), problem.prefix_background.resize(length + 1);
  const bool finite = class_prefix_sums(cas, problem.row, problem.cls, cas_channels, length,
                                        problem.prefix_action.data(), problem.prefix_background.data());
  if (!finite && problem.num_segments >= 0) problem.num_segments = kNotFinite;
  return problem;
}

// 1 on the action segments of the labelling whose segments start at `starts`.
void write_labels(const PairProblem& problem, const std::vector<int64_t>& starts, int64_t num_classes,
                  uint8_t* pseudo_labels) {
  for (int64_t k = 0; k < problem.num_segments; ++k) {
    if (problem.labels[k] != kAction) continue;
    const int64_t end = k + 1 < problem.num_segments ? starts[k + 1] : problem.length;
    for (int64_t t = starts[k]; t < end; ++t) pseudo_labels[(problem.row + t) * num_classes + problem.cls] = 1;
  }
}

// ---- LACP's beam search (mirrors beam_search in ptal_core/reference/optimal_sequence_search.py) ----

struct Hypothesis {
  std::vector<int64_t> completed;  // lengths of the completed segments
  int64_t length;                  // length of the current segment
  double score;                    // running mean OIC of the completed segments, +inf before the first

  int64_t segment() const { return static_cast<int64_t>(completed.size()); }
};

// The release's dictionary key (-1, labels of segments 0..k, current length, "0,d1,d2,...") as parts;
// ints order before the string where the types differ (the release's sort would raise).
struct KeyPart {
  bool is_string;
  int64_t number;
  std::string text;
  bool operator<(const KeyPart& other) const {
    if (is_string != other.is_string) return !is_string;
    return is_string ? text < other.text : number < other.number;
  }
};

std::vector<KeyPart> release_key(const Hypothesis& h, const std::vector<uint8_t>& labels) {
  std::vector<KeyPart> key{{false, -1, {}}};
  for (int64_t k = 0; k <= h.segment(); ++k) key.push_back({false, labels[k], {}});
  key.push_back({false, h.length, {}});
  std::string history = "0";
  for (int64_t d : h.completed) history += "," + std::to_string(d);
  key.push_back({true, 0, history});
  return key;
}

Hypothesis switch_segment(const Hypothesis& h, const PairProblem& problem, double outer_ratio) {
  const int64_t start = std::accumulate(h.completed.begin(), h.completed.end(), int64_t{0});
  const OicParts<double> parts = oic_parts_from_prefix(problem.prefix(h.segment()), start, start + h.length - 1,
                                                       problem.length, outer_ratio);
  const double m = static_cast<double>(h.segment() + 1);
  Hypothesis next{h.completed, 1, 0.0};
  next.completed.push_back(h.length);
  next.score = h.segment() == 0 ? parts.inner - parts.outer : ((h.score * (m - 1.0)) + parts.inner - parts.outer) / m;
  return next;
}

std::vector<Hypothesis> prune(std::vector<Hypothesis> beam, const std::vector<uint8_t>& labels, double thresh,
                              int64_t budget) {
  auto ranked = [&](const std::vector<Hypothesis>& hyps) {
    std::vector<size_t> order(hyps.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      if (hyps[a].score != hyps[b].score) return hyps[a].score < hyps[b].score;
      return release_key(hyps[a], labels) < release_key(hyps[b], labels);
    });
    return order;
  };
  auto without = [](std::vector<Hypothesis>& hyps, const std::vector<size_t>& order, size_t count) {
    std::vector<uint8_t> dropped(hyps.size(), 0);
    for (size_t i = 0; i < count; ++i) dropped[order[i]] = 1;
    std::vector<Hypothesis> kept;
    for (size_t i = 0; i < hyps.size(); ++i)
      if (!dropped[i]) kept.push_back(std::move(hyps[i]));
    return kept;
  };
  std::vector<size_t> order = ranked(beam);
  size_t count = 0;
  while (count + 1 < order.size() && beam[order[count]].score < thresh) ++count;
  beam = without(beam, order, count);
  if (static_cast<int64_t>(beam.size()) > budget) {
    order = ranked(beam);
    size_t cut = beam.size() - static_cast<size_t>(budget);
    while (cut > 0 && beam[order[cut - 1]].score == beam[order[cut]].score) --cut;
    beam = without(beam, order, cut);
  }
  return beam;
}

double beam_search(const PairProblem& problem, double outer_ratio, int64_t budget, double thresh,
                   std::vector<int64_t>& best_starts) {
  const int64_t n = problem.num_segments, length = problem.length;
  std::vector<Hypothesis> beam{{{}, 1, INFINITY}};
  for (int64_t t = 1; t < length; ++t) {
    std::vector<Hypothesis> grown;
    for (const Hypothesis& h : beam) {
      const int64_t k = h.segment();
      const int64_t next_lo = k + 1 < n ? problem.lo[k + 1] : length;
      if (t == next_lo) {
        grown.push_back(switch_segment(h, problem, outer_ratio));
        continue;
      }
      grown.push_back({h.completed, h.length + 1, h.score});
      if (t > problem.hi[k] && k + 1 < n) grown.push_back(switch_segment(h, problem, outer_ratio));
    }
    beam = prune(std::move(grown), problem.labels, thresh, budget);
  }
  double best_score = -INFINITY;
  for (const Hypothesis& h : beam) {
    std::vector<int64_t> starts{0};
    for (int64_t d : h.completed) starts.push_back(starts.back() + d);
    double total = 0.0;  // action segments first, then background ones, as the release sums them
    for (uint8_t label : {kAction, kBackground}) {
      for (int64_t k = 0; k < n; ++k) {
        if (problem.labels[k] != label) continue;
        const int64_t end = k + 1 < n ? starts[k + 1] : length;
        total += oic_from_prefix(problem.prefix(k), starts[k], end - 1, length, outer_ratio);
      }
    }
    const double score = total / static_cast<double>(n);
    if (score >= best_score) best_score = score, best_starts = starts;
  }
  return best_score;
}

}  // namespace

template <typename T>
void optimal_sequence_search_beam(const T* cas, const uint8_t* act_seed, const uint8_t* background_seed,
                                  const uint8_t* any_action, const int64_t* lengths, const int64_t* pairs,
                                  int64_t num_pairs, int64_t max_length, int64_t num_classes, int64_t cas_channels,
                                  double outer_ratio, int64_t budget, double thresh, uint8_t* pseudo_labels,
                                  double* pair_scores, int64_t* pair_segments) {
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t pair = 0; pair < num_pairs; ++pair) {
    const PairProblem problem = make_problem(cas, act_seed, background_seed, any_action, lengths, pairs, pair,
                                             max_length, num_classes, cas_channels);
    pair_segments[pair] = problem.num_segments;
    if (problem.num_segments < 0) continue;
    std::vector<int64_t> starts;
    pair_scores[pair] = beam_search(problem, outer_ratio, budget, thresh, starts);
    write_labels(problem, starts, num_classes, pseudo_labels);
  }
}

template <typename T>
void optimal_sequence_search_exact(const T* cas, const uint8_t* act_seed, const uint8_t* background_seed,
                                   const uint8_t* any_action, const int64_t* lengths, const int64_t* pairs,
                                   int64_t num_pairs, int64_t max_length, int64_t num_classes, int64_t cas_channels,
                                   double outer_ratio, uint8_t* pseudo_labels, double* pair_scores,
                                   int64_t* pair_segments) {
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t pair = 0; pair < num_pairs; ++pair) {
    const PairProblem p = make_problem(cas, act_seed, background_seed, any_action, lengths, pairs, pair, max_length,
                                       num_classes, cas_channels);
    const int64_t n = pair_segments[pair] = p.num_segments, length = p.length;
    if (n < 0) continue;
    // best[b]: best total OIC of segments k..n-1 when segment k starts at b (the start ranges of different
    // segments are disjoint); next[b]: the earliest next start achieving it.
    std::vector<double> best(length);
    std::vector<int64_t> next(length);
    const double *background = p.prefix_background.data(), *action = p.prefix_action.data();
    for (int64_t b = first_start(p.hi.data(), n - 1); b <= last_start(p.lo.data(), n - 1); ++b)
      best[b] = last_segment_value(background, action, p.labels.data(), n, b, length, outer_ratio);
    for (int64_t k = n - 2; k >= 0; --k)
      for (int64_t b = first_start(p.hi.data(), k); b <= last_start(p.lo.data(), k); ++b)
        dp_step(background, action, p.labels.data(), p.lo.data(), p.hi.data(), k, b, length, outer_ratio, best.data(),
                next.data());
    pair_scores[pair] = best[0] / static_cast<double>(n);
    write_exact_labels(p.labels.data(), n, next.data(), length, p.row, p.cls, num_classes, pseudo_labels);
  }
}

template void optimal_sequence_search_beam<float>(const float*, const uint8_t*, const uint8_t*, const uint8_t*,
                                                  const int64_t*, const int64_t*, int64_t, int64_t, int64_t,
                                                  int64_t, double, int64_t, double, uint8_t*, double*, int64_t*);
template void optimal_sequence_search_beam<double>(const double*, const uint8_t*, const uint8_t*, const uint8_t*,
                                                   const int64_t*, const int64_t*, int64_t, int64_t, int64_t,
                                                   int64_t, double, int64_t, double, uint8_t*, double*, int64_t*);
template void optimal_sequence_search_exact<float>(const float*, const uint8_t*, const uint8_t*, const uint8_t*,
                                                   const int64_t*, const int64_t*, int64_t, int64_t, int64_t,
                                                   int64_t, double, uint8_t*, double*, int64_t*);
template void optimal_sequence_search_exact<double>(const double*, const uint8_t*, const uint8_t*, const uint8_t*,
                                                    const int64_t*, const int64_t*, int64_t, int64_t, int64_t,
                                                    int64_t, double, uint8_t*, double*, int64_t*);

}  // namespace ptal::cpu
