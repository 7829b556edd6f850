"""How often, and by how much, the exact sequence search beats LACP's beam search (same objective).

    python benchmarks/exact_vs_beam.py [--problems 2000]
"""
import argparse

import torch

from benchmarks.workloads import sequence_search_problem
from ptal.ops import optimal_sequence_search


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--problems", type=int, default=2000)
    args = parser.parse_args()
    gains, label_differences = [], 0
    for seed in range(args.problems):
        length = [100, 300, 750, 1500][seed % 4]
        problem = sequence_search_problem(length, num_points=2 + seed % 12, seed=seed, dtype=torch.float64)
        exact_labels, exact = optimal_sequence_search(*problem, method="exact")
        beam_labels, beam = optimal_sequence_search(*problem, method="beam")
        gains.append(float(exact - beam))
        label_differences += int(not torch.equal(exact_labels, beam_labels))
    gains = torch.tensor(gains)
    better = gains > 1e-12
    print(f"{args.problems} video·class problems (T in 100/300/750/1500, 2-13 points, sparse background seeds)")
    print(f"exact < beam - 1e-12: {int((gains < -1e-12).sum())}")
    print(f"exact strictly better: {int(better.sum())} ({100 * float(better.float().mean()):.1f} %), "
          f"different pseudo labels: {label_differences}")
    if better.any():
        print(f"gain in mean OIC where better: median {float(gains[better].median()):.4f}, "
              f"mean {float(gains[better].mean()):.4f}, max {float(gains[better].max()):.4f}")


if __name__ == "__main__":
    main()
