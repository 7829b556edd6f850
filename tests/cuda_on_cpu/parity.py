"""The CUDA kernels' results on fixed inputs, recorded from the CPU harness, for a GPU to be held to
(test_gpu_parity.py): the same sources on the real device must give what the harness gives.

    python -m tests.cuda_on_cpu.parity    # records fixtures/harness_results.npz (inputs and results), ~1 min

Each case is a few launches at sizes with many blocks (NMS groups of several 64-row tiles, soft-NMS groups of
several rounds, a batch of LACP-like videos, k-medoids batches, RoIAlign over 100 blocks). The inputs are stored
beside the results, so the GPU machine (another torch) needs no random generator to agree.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

from benchmarks.workloads import proposals
from tests.ops import test_constrained_kmedoids as kmedoids_tests
from tests.ops import test_optimal_sequence_search as search_tests
from tests.ops import test_roi_align_1d as roi_align_tests
from tests.ops import test_soft_nms as soft_nms_tests
from tests.ops import test_temporal_nms as nms_tests

FIXTURE = Path(__file__).parent / "fixtures" / "harness_results.npz"


def case_inputs() -> dict[str, dict[str, torch.Tensor]]:
    """The inputs of each case, by name."""
    cases = {}
    for name, (groups, size, seed, dtype) in {"temporal_nms_float32": (40, 150, 1, torch.float32),
                                              "temporal_nms_float64": (6, 300, 2, torch.float64),
                                              "soft_nms_gaussian": (8, 40, 3, torch.float32),
                                              "soft_nms_linear": (6, 30, 4, torch.float64)}.items():
        segments, scores, idxs = proposals(groups, size, seed=seed, dtype=dtype)
        cases[name] = dict(segments=segments, scores=scores, idxs=idxs)
    cas, act_seed, bkg_seed, labels, lengths = search_tests.lacp_like_batch(12, 200, 3, 5)
    cases["optimal_sequence_search"] = dict(cas=cas.float(), act_seed=search_tests.searchable(act_seed, bkg_seed, lengths),
                                            bkg_seed=bkg_seed, labels=labels, lengths=lengths)
    features, points, point_classes, lengths = kmedoids_tests.kmedoids_batch(
        torch.Generator().manual_seed(6), [60, 40, 9, 0], ["dense", "ends", "random", "none"], dim=16,
        dtype=torch.float32, duplicates=True)
    cases["constrained_kmedoids"] = dict(features=features, points=points, point_classes=point_classes,
                                         lengths=lengths)
    features, rois = roi_align_tests.random_case(21, 4, 16, 120, 200, torch.float32)
    cases["roi_align_1d"] = dict(features=features, rois=rois)
    return cases


def case_results(name: str, inputs: dict[str, torch.Tensor], backend: str) -> dict[str, torch.Tensor]:
    """The case's results on ``backend`` (CPU tensors)."""
    if name.startswith("temporal_nms"):
        threshold = 0.5 if name.endswith("32") else 0.3
        keep = nms_tests.run(backend, inputs["segments"], inputs["scores"], threshold, inputs["idxs"])
        return dict(keep=torch.tensor(keep, dtype=torch.int64))
    if name.startswith("soft_nms"):
        method = name.removeprefix("soft_nms_")
        indices, scores = soft_nms_tests.run(backend, inputs["segments"], inputs["scores"], inputs["idxs"],
                                             method=method, iou_threshold=0.3)
        return dict(indices=indices, scores=scores)
    if name == "optimal_sequence_search":
        pseudo, score = search_tests.run(backend, inputs["cas"], inputs["act_seed"], inputs["bkg_seed"],
                                         inputs["labels"], inputs["lengths"])
        return dict(pseudo=pseudo, score=score)
    if name == "constrained_kmedoids":
        result = kmedoids_tests.run(backend, inputs["features"], inputs["points"], inputs["point_classes"],
                                    inputs["lengths"], action_medoids="update", max_iter=6)
        return result._asdict()
    if name == "roi_align_1d":
        values, grad = roi_align_tests.run(backend, inputs["features"], inputs["rois"], 8, sampling_ratio=2)
        return dict(values=values, grad=grad)
    raise ValueError(f"unknown case {name!r}")


def load() -> dict[str, tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]]:
    """name -> (inputs, the harness's results), from FIXTURE."""
    data = np.load(FIXTURE)
    cases: dict = {}
    for key in data.files:
        name, kind, field = key.split("/")
        cases.setdefault(name, ({}, {}))[kind == "results"][field] = torch.from_numpy(data[key])
    return cases


def record(module_path: str | None = None) -> None:
    from tests.cuda_on_cpu.harness import build, emulating, load as load_module
    from tests.ops.backends import CUDA_ON_CPU

    module = load_module(Path(module_path) if module_path else build("plain")["plain"])
    arrays = {}
    with emulating(module):
        for name, inputs in case_inputs().items():
            for kind, tensors in (("inputs", inputs), ("results", case_results(name, inputs, CUDA_ON_CPU))):
                arrays.update({f"{name}/{kind}/{field}": tensor.numpy() for field, tensor in tensors.items()})
    FIXTURE.parent.mkdir(exist_ok=True)
    np.savez_compressed(FIXTURE, **arrays)
    print(f"{FIXTURE}: {len(arrays)} arrays, {FIXTURE.stat().st_size} bytes")


if __name__ == "__main__":
    record(*sys.argv[1:])
