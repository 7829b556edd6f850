"""Compare ptal's beam search with the LACP release's own decoder, on random LACP-like videos.

The release is not part of ptal: clone it (github.com/Pilhyeon/Learning-Action-Completeness-from-Points)
and pass its folder. Its `search.greedy_search_with_id` runs on the same seeds and CAS as ptal.

    python benchmarks/compare_lacp_release.py --release PATH [--videos 400] [--float32]
"""
import argparse
import sys
import types

import numpy as np
import torch

from ptal.ops import optimal_sequence_search
from tests.ops.test_optimal_sequence_search import lacp_like_batch, searchable


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--release", required=True, help="folder of the LACP release (holds search.py, decode.py)")
    parser.add_argument("--videos", type=int, default=400)
    parser.add_argument("--float32", action="store_true", help="feed float32 CAS, as the release runs")
    args = parser.parse_args()
    sys.path.insert(0, args.release)
    sys.modules.setdefault("utils", types.ModuleType("utils"))  # search.py imports it, the decoder needs none of it
    sys.modules.setdefault("joblib", types.SimpleNamespace(Parallel=None, delayed=None))
    import search  # noqa: E402  (the release's module)

    dtype = torch.float32 if args.float32 else torch.float64
    compared = label_mismatches = 0
    worst = 0.0
    for seed in range(args.videos):
        length = int(np.random.RandomState(seed).choice([5, 20, 80, 300]))
        cas, act_seed, bkg_seed, _, lengths = lacp_like_batch(1, length, 3, seed)
        t = int(lengths[0])
        cas, act_seed, bkg_seed = cas[:, :t].to(dtype), act_seed[:, :t], bkg_seed[:, :t]
        act_seed = searchable(act_seed, bkg_seed, lengths)
        if not act_seed.any():
            continue
        labels = (act_seed.sum(1) > 0).float()
        ours, our_score = optimal_sequence_search(cas, act_seed, bkg_seed, labels, method="beam", backend="reference")
        try:
            theirs, their_score = search.greedy_search_with_id(25, cas[0], act_seed[0].to(dtype), bkg_seed[0].to(dtype))
        except (IndexError, AssertionError):  # the release fails on a class without any background seed
            continue
        compared += 1
        label_mismatches += int(not torch.equal(ours[0].float(), theirs.float()))
        worst = max(worst, abs(float(our_score[0]) - float(their_score)))
    print(f"{compared} videos compared: {label_mismatches} with different pseudo labels, "
          f"max |sequence score difference| {worst:.2e}")
    return int(label_mismatches > 0)


if __name__ == "__main__":
    sys.exit(main())
