import torch

from ptal_core.native.common import address, cuda_stream, kernel

DISTANCES = {"cosine": 0, "euclidean": 1}  # KMedoidsDistance in csrc/common/kmedoids.h


class _Problem:
    """The kernels' arrays and output buffers (clusters (B, T), medoids (B, P + 1), iterations (B,))."""

    def __init__(self, features, points, lengths, order, distance, max_iter, background_sample):
        batch, max_length, dim = features.shape
        device = features.device
        self.arrays = tuple(t.contiguous() for t in (features, points, lengths, order))
        self.clusters = torch.full((batch, max_length), -1, dtype=torch.int64, device=device)
        self.medoids = torch.full((batch, points.shape[1] + 1), -1, dtype=torch.int64, device=device)
        self.iterations = torch.zeros(batch, dtype=torch.int64, device=device)
        self.inputs = (*map(address, self.arrays), batch, max_length, dim, points.shape[1], DISTANCES[distance],
                       max_iter, background_sample)
        self.outputs = (address(self.clusters), address(self.medoids), address(self.iterations))

    def results(self):
        return self.clusters, self.medoids, self.iterations


def constrained_kmedoids_cpu(features, points, lengths, order, distance, max_iter, background_sample):
    problem = _Problem(features, points, lengths, order, distance, max_iter, background_sample)
    kernel("_cpu", "constrained_kmedoids", features.dtype)(*problem.inputs, *problem.outputs)
    return problem.results()


def constrained_kmedoids_cuda(features, points, lengths, order, distance, max_iter, background_sample):
    problem = _Problem(features, points, lengths, order, distance, max_iter, background_sample)
    batch, _, dim = features.shape
    device = features.device
    # Per-video workspaces of `length` entries (three times that for the costs).
    work_offsets = torch.nn.functional.pad(torch.cumsum(problem.arrays[2], 0), (1, 0))
    size = int(work_offsets[-1])
    norms = torch.empty(size, dtype=torch.float64, device=device)
    costs = torch.empty(3 * size, dtype=torch.int64, device=device)
    previous, members, objective = (torch.empty(size, dtype=torch.int64, device=device) for _ in range(3))
    unit_sums = torch.empty(batch * dim, dtype=torch.float64, device=device)
    workspace = (address(work_offsets), address(norms), address(costs), address(previous), address(members),
                 address(objective), address(unit_sums))
    with cuda_stream(device) as stream:
        kernel("_cuda", "constrained_kmedoids", features.dtype)(*problem.inputs, *workspace, *problem.outputs, stream)
    return problem.results()
