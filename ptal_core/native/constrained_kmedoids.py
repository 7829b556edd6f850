import torch

from ptal_core.backends import register
from ptal_core.native.common import address, cuda_stream, kernel

DISTANCES = {"cosine": 0, "euclidean": 1}  # KMedoidsDistance in csrc/common/kmedoids.h
LAYOUTS = {"gap": 0, "video": 1}  # KMedoidsLayout


def _cluster(module, features, points, lengths, order, slot_begin, slot_end, layout, fix_actions, distance, max_iter,
             background_sample):
    batch, max_length, dim = features.shape
    device = features.device
    features, points, lengths, order, slot_begin, slot_end = (
        t.contiguous() for t in (features, points, lengths, order, slot_begin, slot_end))
    num_slots = int(slot_end[-1, -1]) if batch else 0
    clusters = torch.full((batch, max_length), -1, dtype=torch.int64, device=device)
    medoids = torch.full(points.shape, -1, dtype=torch.int64, device=device)
    slots = torch.full((num_slots,), -1, dtype=torch.int64, device=device)
    iterations = torch.zeros(batch, dtype=torch.int64, device=device)
    common = (address(features), address(points), address(lengths), address(order), batch, max_length, dim,
              points.shape[1], DISTANCES[distance], address(slot_begin), address(slot_end), LAYOUTS[layout],
              fix_actions, max_iter, background_sample)
    outputs = (address(clusters), address(medoids), address(slots), address(iterations))
    if module == "_cpu":
        kernel(module, "constrained_kmedoids", features.dtype)(*common, *outputs)
    else:
        # Per-video workspaces of `length` entries (three times that for the costs), two per slot.
        work_offsets = torch.nn.functional.pad(torch.cumsum(lengths, 0), (1, 0)).contiguous()
        size = int(work_offsets[-1])
        norms = torch.empty(size, dtype=torch.float64, device=device)
        costs = torch.empty(3 * size, dtype=torch.int64, device=device)
        previous, members, objective, nearest = (torch.empty(size, dtype=torch.int64, device=device) for _ in range(4))
        slot_work = torch.empty(2 * num_slots, dtype=torch.int64, device=device)
        unit_sums = torch.empty(batch * dim, dtype=torch.float64, device=device)
        workspace = (address(work_offsets), address(norms), address(costs), address(previous), address(members),
                     address(objective), address(nearest), address(slot_work), address(unit_sums))
        with cuda_stream(device) as stream:
            kernel(module, "constrained_kmedoids", features.dtype)(*common, *workspace, *outputs, stream)
    return clusters, medoids, slots, iterations


@register("constrained_kmedoids", "cpu")
def constrained_kmedoids_cpu(*args):
    return _cluster("_cpu", *args)


@register("constrained_kmedoids", "cuda")
def constrained_kmedoids_cuda(*args):
    return _cluster("_cuda", *args)
