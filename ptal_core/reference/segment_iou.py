"""Reference temporal IoU."""
import torch


def segment_iou(a: torch.Tensor, b: torch.Tensor, length_offset: float = 0.0,
                union_epsilon: float = 0.0) -> torch.Tensor:
    """IoU of every segment of ``a`` (M, 2) with every segment of ``b`` (N, 2) -> (M, N), in their dtype.

    Lengths and intersections get ``length_offset`` added, and each length in the union (not the intersection)
    gets ``union_epsilon`` added too; the IoU is 0 where the union is <= 0.
    """
    a_start, a_end = a[:, 0, None], a[:, 1, None]
    b_start, b_end = b[None, :, 0], b[None, :, 1]
    inter = (torch.minimum(a_end, b_end) - torch.maximum(a_start, b_start) + length_offset).clamp(min=0)
    a_length = a_end - a_start + length_offset + union_epsilon
    b_length = b_end - b_start + length_offset + union_epsilon
    union = a_length + b_length - inter
    return torch.where(union > 0, inter / union, torch.zeros_like(inter))
