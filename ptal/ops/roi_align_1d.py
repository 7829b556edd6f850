import torch

from ptal.ops import _arrays, _checks
from ptal.ops._library import registered
from ptal_core.backends import Backends, lazy
from ptal_core.native import roi_align_1d as native
from ptal_core.reference import roi_align_1d as reference

BACKENDS = Backends("roi_align_1d", reference=reference.roi_align_1d, cpu=native.roi_align_1d_cpu,
                    cuda=native.roi_align_1d_cuda, triton=lazy("ptal_core.triton.roi_align_1d", "roi_align_1d"))
BACKWARD = Backends("roi_align_1d_backward", reference=reference.roi_align_1d_backward,
                    cpu=native.roi_align_1d_backward_cpu, cuda=native.roi_align_1d_backward_cuda,
                    triton=lazy("ptal_core.triton.roi_align_1d", "roi_align_1d_backward"))
DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


@_arrays.interop
def roi_align_1d(features: torch.Tensor, rois: torch.Tensor, output_size: int, *, spatial_scale: float = 1.0,
                 sampling_ratio: int = 0, aligned: bool = False, backend: str | None = None) -> torch.Tensor:
    """RoIAlign over time: the features of each region of interest at ``output_size`` bins, each the mean of
    linearly interpolated samples (G-TAD's and TadTR's ``Align1D``, the RoI heads of OpenTAD and VSGN).

    Equal to torchvision's ``roi_align`` on ``features[:, :, None, :]`` (B, C, 1, T) with boxes
    ``[video, start, 0, end, 1]`` and ``output_size=(1, output_size)`` (then squeezed), without torchvision.
    For RoI ``[b, start, end]``: ``s = start * spatial_scale - o`` and ``e = end * spatial_scale - o``, with
    ``o = 0.5`` when ``aligned`` (the half-pixel convention) else 0; width ``w = e - s``, at least 1 unless
    ``aligned``; ``bin = w / output_size``. Bin i averages ``n`` samples (``n = sampling_ratio`` if > 0, else
    ``ceil(bin)``, adaptive; no samples give 0) at ``x = s + i * bin + (j + 0.5) * bin / n``, j < n. A sample
    reads ``(1 - f) * x[l] + f * x[l + 1]`` of its video's row with ``l = floor(x)``, ``f = x - l``; a point in
    ``[-1, 0]`` reads snippet 0, one in ``[T - 1, T]`` snippet T - 1, one outside ``[-1, T]`` contributes 0.

    Arithmetic: in float64 for float64 features, else in float32 (float16/bfloat16 features are read as
    float32 and the result is rounded once), with torchvision's operations in its order: on the CPU, float32
    results equal torchvision's CPU ``roi_align`` bit for bit when ``sampling_ratio <= 1`` (to about 1e-7
    relative otherwise, where torchvision sums n*n samples). Gradient w.r.t. ``features`` only (``rois`` are
    constants): each sample adds ``grad * weight / n`` to its two snippets; every backend's backward is
    deterministic (``cpu``/``cuda``: one thread per (video, channel) row, in RoI order, torchvision's order;
    ``triton``: a sorted segmented sum, no atomics; ``reference``: index_put with accumulation).

    Args:
        features: (B, C, T) float16/bfloat16/float32/float64, T >= 1.
        rois: (K, 3) float rows ``[batch, start, end]``: an integral batch index in ``[0, B)``, finite
            ``start <= end`` in snippet units (before ``spatial_scale``); converted to the compute dtype.
        output_size: L >= 1 bins.
        spatial_scale: finite, > 0: multiplies the RoI bounds (e.g. 1 / stride).
        sampling_ratio: samples per bin; <= 0 chooses ``ceil(bin)`` per RoI.
        aligned: False: G-TAD/TadTR (torchvision's ``aligned=False``); True: shift by half a snippet.
        backend: "reference", "cpu", "cuda", "triton" or None (automatic).

    Returns:
        (K, C, L) in the dtype of ``features``, on its device; K = 0 gives an empty result.
    """
    features = _checks.tensor("features", features, ndim=3, dtypes=DTYPES)
    rois = _checks.tensor("rois", rois, ndim=2, dtypes=DTYPES, last_dim=3)
    if features.shape[2] < 1:
        raise ValueError(f"features must have at least one snippet (T >= 1), got shape {tuple(features.shape)}")
    output_size = _checks.integer("output_size", output_size, low=1)
    spatial_scale = _checks.number("spatial_scale", spatial_scale, low=0.0, low_open=True)
    sampling_ratio = _checks.integer("sampling_ratio", sampling_ratio)
    device = _checks.same_device(features=features, rois=rois)
    return _roi_align_1d(features, rois, output_size, spatial_scale, sampling_ratio, bool(aligned),
                         BACKENDS.choose(device, backend), True)


@registered
def _roi_align_1d(features: torch.Tensor, rois: torch.Tensor, output_size: int, spatial_scale: float,
                  sampling_ratio: int, aligned: bool, backend: str, check: bool) -> torch.Tensor:
    if check:
        _checked_rois(rois, features.shape[0])
    if rois.shape[0] == 0 or features.shape[1] == 0:
        return features.new_zeros((rois.shape[0], features.shape[1], output_size))
    return BACKENDS.implementation(backend, features.device)(features, rois, output_size, spatial_scale,
                                                             sampling_ratio, aligned)


@torch.library.register_fake(_roi_align_1d)
def _(features, rois, output_size, spatial_scale, sampling_ratio, aligned, backend, check):
    return features.new_empty((rois.shape[0], features.shape[1], output_size))


@registered
def _roi_align_1d_backward(grad_out: torch.Tensor, rois: torch.Tensor, num_videos: int, length: int,
                           spatial_scale: float, sampling_ratio: int, aligned: bool, backend: str) -> torch.Tensor:
    """d sum(grad_out * roi_align_1d(features)) / d features (B, C, T)."""
    if grad_out.numel() == 0:
        return grad_out.new_zeros((num_videos, grad_out.shape[1], length))
    return BACKWARD.implementation(backend, grad_out.device)(grad_out, rois, num_videos, length, spatial_scale,
                                                             sampling_ratio, aligned)


@torch.library.register_fake(_roi_align_1d_backward)
def _(grad_out, rois, num_videos, length, spatial_scale, sampling_ratio, aligned, backend):
    return grad_out.new_empty((num_videos, grad_out.shape[1], length))


def _save_for_backward(ctx, inputs, output):
    features, rois, _, spatial_scale, sampling_ratio, aligned, backend, _ = inputs
    ctx.save_for_backward(rois)
    ctx.shape = (features.shape[0], features.shape[2])
    ctx.settings = (spatial_scale, sampling_ratio, aligned, backend)


def _backward(ctx, grad_out):
    (rois,) = ctx.saved_tensors
    grad_features = _roi_align_1d_backward(grad_out.contiguous(), rois, *ctx.shape, *ctx.settings)
    return grad_features, None, None, None, None, None, None, None


torch.library.register_autograd(_roi_align_1d, _backward, setup_context=_save_for_backward)


def _checked_rois(rois: torch.Tensor, num_videos: int) -> None:
    """Raise unless every row ``[batch, start, end]`` is finite, has an integral batch index in [0, B) and
    ``start <= end``."""
    _checks.finite("rois", rois)
    if rois.shape[0] == 0:
        return
    batch, start, end = rois.unbind(1)
    batch_ok = (batch >= 0) & (batch < num_videos) & (batch == torch.floor(batch))
    ok = batch_ok & (start <= end)
    if bool(ok.all()):
        return
    row = int(torch.nonzero(~ok)[0, 0])
    values = rois[row].tolist()
    if not bool(batch_ok[row]):
        raise ValueError(f"rois must have an integral batch index in [0, {num_videos}), row {row} is {values}")
    raise ValueError(f"rois must have start <= end, row {row} is {values}")
