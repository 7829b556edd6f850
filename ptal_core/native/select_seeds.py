import torch

from ptal_core.native.common import address, kernel


def seed_buffers(background: torch.Tensor, points: torch.Tensor, anchors: torch.Tensor):
    """The kernels' arrays: background (B, T) and anchors (B, T) contiguous, act_seed (B, T, C) uint8 holding
    the points, bkg_seed (B, T) uint8 zeros."""
    bkg_seed = torch.zeros(background.shape, dtype=torch.uint8, device=background.device)
    return background.contiguous(), anchors.contiguous(), points.contiguous().clone(), bkg_seed


def select_seeds_cpu(background, points, anchors, lengths, bkg_thresh, act_thresh):
    background, anchors, act_seed, bkg_seed = seed_buffers(background, points, anchors)
    batch, time, classes = act_seed.shape
    kernel("_cpu", "select_seeds", background.dtype)(
        address(background), address(anchors), address(lengths.contiguous()), batch, time, classes, bkg_thresh,
        act_thresh, address(act_seed), address(bkg_seed))
    return act_seed, bkg_seed
