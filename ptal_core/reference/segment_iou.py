"""Reference temporal IoU."""
import torch


def segment_iou(a: torch.Tensor, b: torch.Tensor, length_offset: float = 0.0) -> torch.Tensor:
    """IoU of every segment of ``a`` (M, 2) with every segment of ``b`` (N, 2) -> (M, N).

    Lengths and intersections get ``length_offset`` added; the IoU is 0 where the union is <= 0.
    """
    a_start, a_end = a[:, 0, None], a[:, 1, None]
    b_start, b_end = b[None, :, 0], b[None, :, 1]
    inter = (torch.minimum(a_end, b_end) - torch.maximum(a_start, b_start) + length_offset).clamp(min=0)
    union = (a_end - a_start + length_offset) + (b_end - b_start + length_offset) - inter
    return torch.where(union > 0, inter / union, torch.zeros_like(inter))
