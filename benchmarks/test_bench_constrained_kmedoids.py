"""APN's constrained k-medoids: the Python reference against the C++ and CUDA kernels on the THUMOS14
training set's shape in one batched call, with the default medoids (a background medoid per gap, action
medoids at the points) and the first version's (one background medoid per video, action medoids updated).

    pytest benchmarks/test_bench_constrained_kmedoids.py
"""
import numpy as np
import pytest
import torch

from benchmarks.backends import device_for, runnable, synchronize, timed
from ptal.data.annotations import PACKAGED_THUMOS14
from ptal.ops import constrained_kmedoids
from tests.ops.sequences import action_features, thumos14_train_points


@pytest.fixture(scope="module")
def thumos14_train_clustering():
    return thumos14_train_inputs()


def thumos14_train_inputs():
    """The 200 THUMOS14 training videos with their real points (2 855 distinct snippets of the 3 003 points;
    at a snippet holding several, the first one's class), T = last point + 20 % (up to 1 725), E = 512
    features smooth in time with an action stretch around every point."""
    videos = thumos14_train_points(PACKAGED_THUMOS14)
    lengths = [length for length, _, _ in videos]
    snippets, classes = [], []
    for _, video_snippets, video_classes in videos:
        distinct, first = np.unique(video_snippets, return_index=True)
        snippets.append(distinct.tolist())
        classes.append(video_classes[first].tolist())
    width = max(len(s) for s in snippets)
    points = torch.full((len(videos), width), -1, dtype=torch.int64)
    point_classes = torch.zeros((len(videos), width), dtype=torch.int64)
    for video, (s, c) in enumerate(zip(snippets, classes)):
        points[video, :len(s)] = torch.tensor(s)
        point_classes[video, :len(c)] = torch.tensor(c)
    features = action_features(torch.Generator().manual_seed(0), lengths, snippets, dim=512)
    return features, points, point_classes, torch.tensor(lengths)


@pytest.mark.parametrize("backend", runnable("constrained_kmedoids"))
@pytest.mark.parametrize("layout", [dict(background="gap"), dict(background="video", action_medoids="update")],
                         ids=["gap-points", "video-update"])
def test_thumos14_train_set(benchmark, thumos14_train_clustering, backend, layout):
    benchmark.group = f"constrained_kmedoids thumos14-train-200 {layout['background']}"
    device = device_for(backend)
    inputs = [t.to(device) for t in thumos14_train_clustering]

    def run():
        out = constrained_kmedoids(*inputs, backend=backend, **layout)
        synchronize(device)
        return out

    result = timed(benchmark, backend, run)
    benchmark.extra_info.update(instances=result.instances.shape[0], background=result.background.shape[0],
                                mean_iterations=float(result.iterations.double().mean()),
                                action_fraction=float((result.labels >= 0).sum() / inputs[3].sum()))
