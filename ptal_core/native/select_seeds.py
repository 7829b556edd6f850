import torch

from ptal_core.native.common import address, kernel


def seed_buffers(background: torch.Tensor, point_mask: torch.Tensor):
    """The kernels' arrays: background (B, T) contiguous, anchors (B, T) uint8 (1 where a snippet holds a
    point), act_seed (B, T, C) uint8 holding the points, bkg_seed (B, T) uint8 zeros."""
    anchors = point_mask.any(2).to(torch.uint8).contiguous()
    act_seed = point_mask.to(torch.uint8).contiguous()
    bkg_seed = torch.zeros(background.shape, dtype=torch.uint8, device=background.device)
    return background.contiguous(), anchors, act_seed, bkg_seed


def select_seeds_cpu(background, point_mask, lengths, bkg_thresh, act_thresh):
    background, anchors, act_seed, bkg_seed = seed_buffers(background, point_mask)
    batch, time, classes = act_seed.shape
    kernel("_cpu", "select_seeds", background.dtype)(
        address(background), address(anchors), address(lengths.contiguous()), batch, time, classes, bkg_thresh,
        act_thresh, address(act_seed), address(bkg_seed))
    return act_seed, bkg_seed
