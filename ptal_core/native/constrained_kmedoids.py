import torch

from ptal_core.native.common import address, cuda_stream, kernel

DISTANCES = {"cosine": 0, "euclidean": 1}  # KMedoidsDistance in csrc/common/kmedoids.h
LAYOUTS = {"gap": 0, "video": 1}  # KMedoidsLayout


class _Problem:
    """The kernels' arrays and output buffers (clusters (B, T), medoids (B, P), slots (S,), iterations (B,))."""

    def __init__(self, features, points, lengths, order, slot_begin, slot_end, layout, fix_actions, distance, max_iter,
                 background_sample):
        batch, max_length, dim = features.shape
        device = features.device
        self.arrays = tuple(t.contiguous() for t in (features, points, lengths, order, slot_begin, slot_end))
        self.num_slots = int(slot_end[-1, -1]) if batch else 0
        self.clusters = torch.full((batch, max_length), -1, dtype=torch.int64, device=device)
        self.medoids = torch.full(points.shape, -1, dtype=torch.int64, device=device)
        self.slots = torch.full((self.num_slots,), -1, dtype=torch.int64, device=device)
        self.iterations = torch.zeros(batch, dtype=torch.int64, device=device)
        features, points, lengths, order, slot_begin, slot_end = map(address, self.arrays)
        self.inputs = (features, points, lengths, order, batch, max_length, dim, self.medoids.shape[1],
                       DISTANCES[distance], slot_begin, slot_end, LAYOUTS[layout], fix_actions, max_iter,
                       background_sample)
        self.outputs = tuple(map(address, (self.clusters, self.medoids, self.slots, self.iterations)))

    def results(self):
        return self.clusters, self.medoids, self.slots, self.iterations


def constrained_kmedoids_cpu(*args):
    problem = _Problem(*args)
    kernel("_cpu", "constrained_kmedoids", args[0].dtype)(*problem.inputs, *problem.outputs)
    return problem.results()


def constrained_kmedoids_cuda(*args):
    problem = _Problem(*args)
    batch, _, dim = args[0].shape
    device = args[0].device
    # Per-video workspaces of `length` entries (three times that for the costs), two per slot.
    work_offsets = torch.nn.functional.pad(torch.cumsum(problem.arrays[2], 0), (1, 0))
    size = int(work_offsets[-1])
    norms = torch.empty(size, dtype=torch.float64, device=device)
    costs = torch.empty(3 * size, dtype=torch.int64, device=device)
    previous, members, objective, nearest = (torch.empty(size, dtype=torch.int64, device=device) for _ in range(4))
    slot_work = torch.empty(2 * problem.num_slots, dtype=torch.int64, device=device)
    unit_sums = torch.empty(batch * dim, dtype=torch.float64, device=device)
    workspace = tuple(map(address, (work_offsets, norms, costs, previous, members, objective, nearest, slot_work,
                                    unit_sums)))
    with cuda_stream(device) as stream:
        kernel("_cuda", "constrained_kmedoids", args[0].dtype)(*problem.inputs, *workspace, *problem.outputs, stream)
    return problem.results()
