"""The GPU goals of ptal (issue 14), each workload timed for ptal and for its anchor in the same run:

    PTAL_BENCH_SCALE=full pytest benchmarks/test_bench_gpu.py --benchmark-json=out.json   # on a GPU
    PTAL_BENCH_SCALE=tiny TRITON_INTERPRET=1 pytest benchmarks/test_bench_gpu.py          # the dry run, CPU

benchmarks/gpu_check.py runs this and turns the JSON into ``gpu.json``/``gpu.md``: every test records, in
``extra_info``, its workload, its side (``ptal`` or ``anchor``), what ran, the work per timed call
(``per_call``), the goal, and for bandwidth-bound work the fewest bytes it must move (each input read once,
each output written once). On a GPU ptal runs its GPU backend (CUDA, else Triton); anchors are what users
run today (torchvision's NMS), the plain-PyTorch reference on the same GPU (what one would write without
ptal), BMN's dense sampling mask, ptal's own C++ kernels on the machine's 16 cores (soft-NMS, OSS,
k-medoids; at ActivityNet's scale on a share of the videos, the time scaled), or the LACP release's per-video
step. Without a GPU (the dry run) ptal runs its Triton backend interpreted where it has one, else its C++ one, on
tiny sizes: this checks the file, not the speed.
"""
import os

import pytest
import torch

from benchmarks.test_bench_constrained_kmedoids import thumos14_train_inputs
from benchmarks.test_bench_generate_proposals import boundary_probabilities
from benchmarks.test_bench_lacp_training import reference_step
from benchmarks.test_bench_oic_scores import pseudo_label_runs
from benchmarks.test_bench_sample_proposal_features import sampling_mask, window_proposals
from benchmarks.workloads import (ACTIVITYNET13_CLASSES, ACTIVITYNET13_TRAIN_VIDEOS, ACTIVITYNET_SNIPPETS,
                                  REFRESH_BATCH, activitynet_clustering, activitynet_search, proposals)
from ptal.data.annotations import PACKAGED_THUMOS14
from ptal.models.apn.config import PseudoSettings
from ptal.models.apn.pseudo_labels import kmedoids_pseudo_labels
from ptal.models.lacp.config import SearchSettings
from ptal.ops import (constrained_kmedoids, generate_proposals, oic_scores, optimal_sequence_search,
                      sample_proposal_features, segment_iou, select_seeds, soft_nms, temporal_nms, threshold_proposals)
from ptal.ops import internal
from ptal_core.backends import triton_interpreted
from tests.ops.backends import table
from tests.ops.sequences import LACP_THRESHOLDS, thumos14_seed_batch, upsampled_cas

GPU = torch.cuda.is_available()
DEVICE = torch.device("cuda" if GPU else "cpu")
FULL = os.environ.get("PTAL_BENCH_SCALE", "full") == "full"
SIDES = ["ptal", "anchor"]


def size(full, tiny):
    return full if FULL else tiny


def backend_of(op: str) -> str:
    """ptal's backend for ``op`` here: CUDA, else Triton on a GPU; Triton interpreted, else C++, without."""
    names = table(op).names
    if GPU:
        return "cuda" if "cuda" in names else "triton"
    return "triton" if "triton" in names and triton_interpreted() else "cpu"


def synchronize():
    if GPU:
        torch.cuda.synchronize()


def measure(benchmark, workload: str, side: str, what: str, function, *, rounds: int, goal: str | None = None,
            nbytes: int | None = None, per_call: float = 1, work: str | None = None):
    """Time ``function`` (then a device synchronisation) over ``rounds`` rounds after one warm-up, and record
    the row's fields for gpu_check.py (``per_call`` < 1: the call does that share of the workload, its time
    is scaled up; ``work``: what the workload counts, for the report)."""
    benchmark.group = workload
    benchmark.extra_info.update(workload=workload, side=side, what=what, goal=goal, per_call=per_call)
    if nbytes is not None and side == "ptal":
        benchmark.extra_info["bytes"] = nbytes
    if work is not None:
        benchmark.extra_info["work"] = work

    def run():
        result = function()
        synchronize()
        return result

    return benchmark.pedantic(run, rounds=rounds if FULL else 1, iterations=1, warmup_rounds=1)


def on_device(*tensors):
    return [t.to(DEVICE) for t in tensors]


# ---- NMS -----------------------------------------------------------------------------------------------------


def boxes_of(segments):
    """torchvision's boxes [start, 0, end, 1] of segments (N, 2)."""
    zeros = torch.zeros_like(segments[:, 0])
    return torch.stack([segments[:, 0], zeros, segments[:, 1], zeros + 1], 1)


@pytest.mark.parametrize("side", SIDES)
def test_grouped_nms_thumos14_test(benchmark, side):
    torchvision = pytest.importorskip("torchvision")
    groups, per_group = size((4200, 500), (6, 40))
    segments, scores, idxs = on_device(*proposals(groups, per_group))
    workload = f"temporal_nms THUMOS14 test, {groups} groups x {per_group}, one call"
    if side == "ptal":
        backend = backend_of("temporal_nms")
        measure(benchmark, workload, side, f"temporal_nms ({backend})",
                lambda: temporal_nms(segments, scores, 0.5, idxs, backend=backend), rounds=20, goal="ratio >= 100")
    else:
        boxes = boxes_of(segments)
        measure(benchmark, workload, side, "torchvision batched_nms",
                lambda: torchvision.ops.batched_nms(boxes, scores, idxs, 0.5), rounds=2)


@pytest.mark.parametrize("side", SIDES)
def test_nms_one_group(benchmark, side):
    torchvision = pytest.importorskip("torchvision")
    per_group = size(2000, 200)
    segments, scores, _ = on_device(*proposals(1, per_group))
    workload = f"temporal_nms one group x {per_group}"
    if side == "ptal":
        backend = backend_of("temporal_nms")
        measure(benchmark, workload, side, f"temporal_nms ({backend})",
                lambda: temporal_nms(segments, scores, 0.5, backend=backend), rounds=50, goal="ratio >= 1")
    else:
        boxes = boxes_of(segments)
        measure(benchmark, workload, side, "torchvision nms", lambda: torchvision.ops.nms(boxes, scores, 0.5),
                rounds=50)


@pytest.mark.parametrize("side", SIDES)
def test_soft_nms_thumos14_test(benchmark, side):
    groups, per_group = size((4200, 500), (6, 40))
    data = proposals(groups, per_group)
    workload = f"soft_nms Gaussian THUMOS14 test, {groups} groups x {per_group}, <= 200 each"
    kwargs = dict(method="gaussian", max_keep=200)
    if side == "ptal":
        backend = backend_of("soft_nms")
        segments, scores, idxs = on_device(*data)
        measure(benchmark, workload, side, f"soft_nms ({backend})",
                lambda: soft_nms(segments, scores, idxs, backend=backend, **kwargs), rounds=10)
    else:
        measure(benchmark, workload, side, f"soft_nms (cpu, {torch.get_num_threads()} threads)",
                lambda: soft_nms(*data, backend="cpu", **kwargs), rounds=5)


# ---- LACP kernels --------------------------------------------------------------------------------------------


def thumos14_train_seeds():
    """The THUMOS14 training set's OSS input (200 videos; the first 2 in the dry run)."""
    cas, points, lengths = thumos14_seed_batch(torch.Generator().manual_seed(0), PACKAGED_THUMOS14)
    cas, points, lengths = cas[:size(None, 2)], points[:size(None, 2)], lengths[:size(None, 2)]
    act_seed, bkg_seed = select_seeds(cas, points, lengths, backend="cpu")
    return cas, points, act_seed, bkg_seed, points.amax(1), lengths


@pytest.mark.parametrize("side", SIDES)
def test_sequence_search_thumos14_train(benchmark, side):
    cas, _, act_seed, bkg_seed, labels, lengths = thumos14_train_seeds()
    workload = f"optimal_sequence_search exact, THUMOS14 train ({cas.shape[0]} videos), one call"
    if side == "ptal":
        backend = backend_of("optimal_sequence_search")
        inputs = on_device(cas, act_seed, bkg_seed, labels, lengths)
        measure(benchmark, workload, side, f"optimal_sequence_search ({backend})",
                lambda: optimal_sequence_search(*inputs, backend=backend), rounds=20, goal="ptal < 5 ms")
    else:
        measure(benchmark, workload, side, f"optimal_sequence_search (cpu, {torch.get_num_threads()} threads)",
                lambda: optimal_sequence_search(cas, act_seed, bkg_seed, labels, lengths, backend="cpu"), rounds=10)


@pytest.mark.parametrize("side", SIDES)
def test_select_seeds_thumos14_train(benchmark, side):
    cas, points, _, _, _, lengths = on_device(*thumos14_train_seeds())
    backend = backend_of("select_seeds") if side == "ptal" else "reference"
    measure(benchmark, f"select_seeds THUMOS14 train ({cas.shape[0]} videos), one call", side,
            f"select_seeds ({backend})", lambda: select_seeds(cas, points, lengths, backend=backend),
            rounds=20 if side == "ptal" else 2)


@pytest.mark.parametrize("side", SIDES)
def test_oic_scores_forward_backward(benchmark, side):
    videos, snippets, segments_count = size((16, 750, 2000), (4, 60, 40))
    scores, segments = on_device(*pseudo_label_runs(videos, snippets, segments_count))
    scores.requires_grad_()
    backend = backend_of("oic_scores") if side == "ptal" else "reference"

    def step():
        (grad,) = torch.autograd.grad(oic_scores(scores, segments, backend=backend).sum(), scores)
        return grad

    measure(benchmark, f"oic_scores forward + backward, {videos} x {snippets}, {segments_count} segments", side,
            f"oic_scores ({backend})", step, rounds=50 if side == "ptal" else 3)


@pytest.mark.parametrize("side", SIDES)
def test_threshold_proposals_inference(benchmark, side):
    videos, snippets = size((16, 750), (1, 10))
    gen = torch.Generator().manual_seed(0)
    scores = torch.cat([upsampled_cas(gen, snippets, 3) for _ in range(videos)]).to(DEVICE)
    thresholds = torch.tensor(LACP_THRESHOLDS, dtype=torch.float64, device=DEVICE)
    backend = backend_of("threshold_proposals") if side == "ptal" else "reference"
    measure(benchmark, f"threshold_proposals {videos} videos x {scores.shape[1]} x 3 x {len(LACP_THRESHOLDS)}",
            side, f"threshold_proposals ({backend})", lambda: threshold_proposals(scores, thresholds, backend=backend),
            rounds=20 if side == "ptal" else 2, nbytes=scores.numel() * scores.element_size())


@pytest.mark.parametrize("side", SIDES)
def test_segment_iou(benchmark, side):
    rows, columns = size((4096, 65536), (64, 256))
    gen = torch.Generator().manual_seed(0)
    a, b = (torch.rand(n, 2, generator=gen).sort(1).values.mul(1000).to(DEVICE) for n in (rows, columns))
    backend = backend_of("segment_iou") if side == "ptal" else "reference"
    measure(benchmark, f"segment_iou {rows} x {columns} float32", side, f"segment_iou ({backend})",
            lambda: segment_iou(a, b, backend=backend), rounds=20 if side == "ptal" else 5,
            nbytes=4 * rows * columns + 8 * (rows + columns))


# ---- APN kernels ---------------------------------------------------------------------------------------------

SAMPLED = dict(windows=size(16, 2), snippets=size(256, 32), channels=size(512, 16), per_window=size(1000, 10))
SAMPLES = size(32, 4)


def sampled_bytes() -> int:
    """Forward: the output written and the features read once; backward: the output gradient read and the
    feature gradient written: the same count."""
    points = SAMPLED["windows"] * SAMPLED["per_window"] * SAMPLES
    return 4 * SAMPLED["channels"] * (points + SAMPLED["windows"] * SAMPLED["snippets"])


@pytest.mark.parametrize("direction", ["forward", "backward"])
@pytest.mark.parametrize("side", SIDES)
def test_sample_proposal_features(benchmark, side, direction):
    features, found = window_proposals(**SAMPLED)
    workload = (f"sample_proposal_features {direction}, {SAMPLED['windows']} x {SAMPLED['snippets']} x "
                f"{SAMPLED['channels']}, {found.shape[0]} proposals, N {SAMPLES}")
    if side == "ptal":
        backend = backend_of("sample_proposal_features")
        features, found = on_device(features, found)
        features.requires_grad_()
        what = f"sample_proposal_features ({backend})"
        out = sample_proposal_features(features, found, num_samples=SAMPLES, backend=backend)
    else:
        mask = sampling_mask(found, SAMPLED["windows"], SAMPLED["snippets"], SAMPLES).to(DEVICE)
        features = features.to(DEVICE).requires_grad_()
        what = "BMN's dense sampling mask (matmul)"
        out = torch.matmul(features.transpose(1, 2), mask)
    grad_out = torch.randn_like(out)
    if direction == "forward":
        function = (lambda: sample_proposal_features(features, found, num_samples=SAMPLES, backend=backend)) \
            if side == "ptal" else (lambda: torch.matmul(features.transpose(1, 2), mask))
    else:
        function = lambda: torch.autograd.grad(out, features, grad_out, retain_graph=True)  # noqa: E731
    measure(benchmark, workload, side, what, function, rounds=50, nbytes=sampled_bytes(),
            goal=">= 70 % of the bandwidth")


@pytest.mark.parametrize("side", SIDES)
def test_generate_proposals_windows(benchmark, side):
    windows, snippets = size((16, 256), (2, 32))
    start_prob, end_prob = on_device(*boundary_probabilities(windows, snippets))
    backend = backend_of("generate_proposals") if side == "ptal" else "reference"
    measure(benchmark, f"generate_proposals {windows} x {snippets}, d_max 64, max 1000", side,
            f"generate_proposals ({backend})",
            lambda: generate_proposals(start_prob, end_prob, d_max=64, max_proposals=1000, backend=backend),
            rounds=50 if side == "ptal" else 3)


@pytest.mark.parametrize("side", SIDES)
def test_constrained_kmedoids_thumos14_train(benchmark, side):
    features, points, classes, lengths = thumos14_train_inputs()
    count = size(features.shape[0], 4)
    inputs = features[:count], points[:count], classes[:count], lengths[:count]
    workload = f"constrained_kmedoids THUMOS14 train ({count} videos, E 512), one call"
    if side == "ptal":
        backend = backend_of("constrained_kmedoids")
        inputs = on_device(*inputs)
        measure(benchmark, workload, side, f"constrained_kmedoids ({backend})",
                lambda: constrained_kmedoids(*inputs, backend=backend), rounds=5)
    else:
        measure(benchmark, workload, side, f"constrained_kmedoids (cpu, {torch.get_num_threads()} threads)",
                lambda: constrained_kmedoids(*inputs, backend="cpu"), rounds=3)


# ---- ActivityNet scale: a full pseudo-label refresh ------------------------------------------------------------
# The methods' refresh over the ActivityNet 1.3 training set, in calls of 16 videos as in training: the GPU side
# over every video, the CPU side (the C++ kernels) over the first ANET_CPU_VIDEOS of the same draw, its time
# scaled to every video. Inputs drawn on the device (benchmarks/workloads.py), not the twin (minutes of CPU).

ANET = dict(videos=size(ACTIVITYNET13_TRAIN_VIDEOS, 40), snippets=size(ACTIVITYNET_SNIPPETS, 30),
            classes=size(ACTIVITYNET13_CLASSES, 6))
ANET_CPU_VIDEOS = size(1024, 32)  # whole blocks: the first videos of the GPU side's draw
ANET_GOAL = "<= 2 s on 2 CPU cores (C++; there: {}); GPU: report"


def refresh_share(side: str) -> tuple[int, float, str]:
    """(videos, per_call, note) of a side: every video on the GPU; the first ANET_CPU_VIDEOS on the CPU."""
    if side == "ptal":
        return ANET["videos"], 1, ""
    return ANET_CPU_VIDEOS, ANET_CPU_VIDEOS / ANET["videos"], \
        f", the first {ANET_CPU_VIDEOS} videos, time x {ANET['videos'] / ANET_CPU_VIDEOS:.3g}"


def kmedoids_refresh(features, points, labels, backend: str):
    """APN's pseudo-label refresh with ``pseudo.features=input`` (its method's loop: kmedoids_pseudo_labels on
    every block of REFRESH_BATCH videos, the default clustering settings), as a call."""
    lengths = torch.full((features.shape[0],), features.shape[1], device=features.device)
    rows = [torch.stack([p[p >= 0], c.expand(int((p >= 0).sum()))], 1) for p, c in zip(points.cpu(), labels.cpu())]
    clustering = PseudoSettings().clustering()

    def run():
        for first in range(0, len(rows), REFRESH_BATCH):
            block = slice(first, first + REFRESH_BATCH)
            kmedoids_pseudo_labels(features[block], lengths[block], rows[block], first, backend=backend, **clustering)
    return run


def assignment_distances(points: torch.Tensor, snippets: int) -> int:
    """Snippet-medoid distances of one assignment (one background medoid per gap): every snippet that is not a
    point, to its gap's background medoid and to the action medoids beside it (none left of the first point,
    none right of the last). points (V, P) sorted, -1 padded, at least one per video."""
    count = (points >= 0).sum(1)
    last = points.gather(1, (count - 1)[:, None])[:, 0]
    return int((3 * (snippets - count) - points[:, 0] - (snippets - 1 - last)).sum())


@pytest.mark.parametrize("dim", [2048, 256])
@pytest.mark.parametrize("side", SIDES)
def test_kmedoids_refresh_activitynet(benchmark, side, dim):
    goal = ANET_GOAL.format({2048: "4.69 s, missed", 256: "1.97 s"}[dim])
    dim = size(dim, dim // 128)
    videos, per_call, note = refresh_share(side)
    features, points, labels = activitynet_clustering(videos, dim, DEVICE, ANET["snippets"], ANET["classes"])
    workload = (f"APN pseudo-label refresh (constrained_kmedoids), ActivityNet 1.3: {ANET['videos']} videos x "
                f"{ANET['snippets']} snippets, D {dim}, calls of {REFRESH_BATCH}")
    if side == "ptal":
        backend = backend_of("constrained_kmedoids")
        nbytes = features.numel() * 4 + videos * ANET["snippets"] * 8  # features read, every snippet's cluster written
        work = (f"{nbytes / 1e9:.3g} GB; {assignment_distances(points, ANET['snippets']) / 1e6:.3g} M distances of "
                f"D {dim} per assignment, <= {PseudoSettings.max_iter} assignments")
        measure(benchmark, workload, side, f"kmedoids_pseudo_labels ({backend})",
                kmedoids_refresh(features, points, labels, backend), rounds=2, goal=goal, nbytes=nbytes, work=work)
    else:
        inputs = features.cpu(), points.cpu(), labels.cpu()
        measure(benchmark, workload, side, f"kmedoids_pseudo_labels (cpu, {torch.get_num_threads()} threads{note})",
                kmedoids_refresh(*inputs, "cpu"), rounds=2, per_call=per_call)


def sequence_search_refresh(cas, points, video_labels, seeds_backend: str, search_backend: str):
    """LACP's search over every video without its network (its method's loop: select_seeds and the optimal
    sequence search on every block of REFRESH_BATCH videos, the default search settings), as a call."""
    lengths = torch.full((cas.shape[0],), cas.shape[1], device=cas.device)
    settings = SearchSettings()

    def run():
        for first in range(0, cas.shape[0], REFRESH_BATCH):
            block = slice(first, first + REFRESH_BATCH)
            act_seed, bkg_seed = internal.select_seeds(cas[block], points[block], lengths[block], backend=seeds_backend)
            internal.optimal_sequence_search(cas[block], act_seed, bkg_seed, video_labels[block], lengths[block],
                                             method=settings.method, budget=settings.budget, thresh=settings.thresh,
                                             backend=search_backend)
    return run


@pytest.mark.parametrize("side", SIDES)
def test_sequence_search_refresh_activitynet(benchmark, side):
    videos, per_call, note = refresh_share(side)
    cas, points, video_labels = activitynet_search(videos, DEVICE, ANET["snippets"], ANET["classes"])
    workload = (f"LACP search (select_seeds + exact optimal_sequence_search), ActivityNet 1.3: {ANET['videos']} "
                f"videos x {ANET['snippets']} snippets x {ANET['classes']} classes, calls of {REFRESH_BATCH}")
    goal = ANET_GOAL.format("0.36 s")
    if side == "ptal":
        backends = backend_of("select_seeds"), backend_of("optimal_sequence_search")
        # cas, points and labels read, the pseudo labels (uint8) and a score per video written
        nbytes = 4 * (cas.numel() + points.numel() + video_labels.numel() + videos) + points.numel()
        measure(benchmark, workload, side, "select_seeds ({}) + optimal_sequence_search ({})".format(*backends),
                sequence_search_refresh(cas, points, video_labels, *backends), rounds=2, goal=goal, nbytes=nbytes,
                work=f"{nbytes / 1e9:.3g} GB; {int(video_labels.sum())} video-class pairs searched")
    else:
        inputs = cas.cpu(), points.cpu(), video_labels.cpu()
        measure(benchmark, workload, side,
                f"select_seeds + optimal_sequence_search (cpu, {torch.get_num_threads()} threads{note})",
                sequence_search_refresh(*inputs, "cpu", "cpu"), rounds=2, per_call=per_call)


# ---- training ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lacp():
    """LACP at the release's sizes (D = 2048, H = 2048, 16 videos per iteration, a search every 10) on the
    synthetic THUMOS14-structured benchmark, after a first search (every loss on)."""
    from ptal.models import method_config
    from ptal.models.lacp import LacpMethod

    config = method_config(None, [] if FULL else ["data.feature_dim=16", "model.hidden=16"])
    torch.manual_seed(0)
    method = LacpMethod(config, DEVICE)
    method.search()
    return method


def amortised(method, optimizer, refresh, steps: int):
    """A call that refreshes the method's pseudo labels (``refresh``) and trains ``steps`` iterations."""
    def run():
        refresh()
        for _ in range(steps):
            loss, _ = method.training_loss(1)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    return run


@pytest.mark.parametrize("side", SIDES)
def test_lacp_training(benchmark, lacp, side):
    frequency = lacp.config.search.frequency
    optimizer = torch.optim.Adam(lacp.model.parameters(), lr=1e-4)
    workload = (f"LACP training iteration, 16 videos, D {lacp.config.data.feature_dim}, search every "
                f"{frequency} (amortised)")

    iterations = amortised(lacp, optimizer, lacp.search, frequency)

    def release_iteration():
        optimizer.zero_grad(set_to_none=True)
        reference_step(lacp)
        optimizer.step()

    lacp.model.train()
    if side == "ptal":
        measure(benchmark, workload, side, f"ptal (search every {frequency})", iterations, rounds=3,
                per_call=frequency, goal="<= 20 ms; 2 000 iterations <= 1 min")
    else:
        measure(benchmark, workload, side, "the release's per-video step, without its search", release_iteration,
                rounds=3)


def test_apn_training(benchmark):
    """APN at the paper's sizes (D = 2048, E = 512, 16 windows): an iteration, and a pseudo-label refresh
    every ``pseudo.frequency`` iterations, amortised. No anchor: the paper's code is not public."""
    from ptal.models import method_config
    from ptal.models.apn import ApnMethod

    tiny = ["data.feature_dim=8", "model.embed_dim=16", "model.bdm_hidden=16", "model.pem_dim=8", "model.pem_heads=2",
            "model.num_samples=4", "proposals.max_proposals=20", "proposals.train_per_window=4"]
    config = method_config(None, ["model.name=apn", *([] if FULL else tiny)])
    torch.manual_seed(0)
    method = ApnMethod(config, DEVICE)
    method.refresh_pseudo_labels()
    optimizer = torch.optim.Adam(method.model.parameters(), lr=1e-4)
    every = config.pseudo.frequency
    iterations = amortised(method, optimizer, method.refresh_pseudo_labels, every)
    method.model.train()
    measure(benchmark, f"APN training iteration, 16 windows, D {config.data.feature_dim}, a pseudo-label "
            f"refresh every {every} (amortised)", "ptal", "ptal", iterations, rounds=2, per_call=every,
            goal="measure; aim <= 50 ms")
