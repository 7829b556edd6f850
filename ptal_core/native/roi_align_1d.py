"""Glue of the compiled RoIAlign kernels. float16/bfloat16 run the float32 kernels on float32 copies (the
compute dtype of ptal_core.reference.roi_align_1d) and are rounded once at the end."""
import torch

from ptal_core.native.common import address, cuda_stream, kernel
from ptal_core.reference.roi_align_1d import compute_dtype


def roi_align_1d_cpu(features, rois, output_size, spatial_scale, sampling_ratio, aligned):
    return _forward("_cpu", features, rois, output_size, spatial_scale, sampling_ratio, aligned, ())


def roi_align_1d_cuda(features, rois, output_size, spatial_scale, sampling_ratio, aligned):
    with cuda_stream(features.device) as stream:
        return _forward("_cuda", features, rois, output_size, spatial_scale, sampling_ratio, aligned, (stream,))


def roi_align_1d_backward_cpu(grad_out, rois, num_videos, length, spatial_scale, sampling_ratio, aligned):
    return _backward("_cpu", grad_out, rois, num_videos, length, spatial_scale, sampling_ratio, aligned, ())


def roi_align_1d_backward_cuda(grad_out, rois, num_videos, length, spatial_scale, sampling_ratio, aligned):
    with cuda_stream(grad_out.device) as stream:
        return _backward("_cuda", grad_out, rois, num_videos, length, spatial_scale, sampling_ratio, aligned,
                         (stream,))


def _forward(module, features, rois, output_size, spatial_scale, sampling_ratio, aligned, stream):
    dtype = compute_dtype(features.dtype)
    x = features.to(dtype).contiguous()
    rois = rois.to(dtype).contiguous()
    channels, length = x.shape[1:]
    out = torch.empty((rois.shape[0], channels, output_size), dtype=dtype, device=x.device)
    kernel(module, "roi_align_1d", dtype)(address(x), channels, length, address(rois), rois.shape[0], output_size,
                                          spatial_scale, sampling_ratio, aligned, address(out), *stream)
    return out.to(features.dtype)


def _backward(module, grad_out, rois, num_videos, length, spatial_scale, sampling_ratio, aligned, stream):
    dtype = compute_dtype(grad_out.dtype)
    g = grad_out.to(dtype).contiguous()
    rois = rois.to(dtype).contiguous()
    num_rois, channels, output_size = g.shape
    video = rois[:, 0].long()
    by_video = torch.argsort(video, stable=True)
    video_offsets = torch.searchsorted(video[by_video], torch.arange(num_videos + 1, device=video.device))
    grad = torch.empty((num_videos, channels, length), dtype=dtype, device=g.device)
    kernel(module, "roi_align_1d_backward", dtype)(
        address(g), num_videos, channels, length, address(rois), address(by_video), address(video_offsets),
        output_size, spatial_scale, sampling_ratio, aligned, address(grad), *stream)
    return grad.to(grad_out.dtype)
