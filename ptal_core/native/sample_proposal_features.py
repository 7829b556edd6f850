import torch

from ptal_core.native.common import address, kernel


def sample_proposal_features_cpu(features, proposals, lengths, num_samples, expand):
    features = features.contiguous()
    num_snippets, channels = features.shape[1:]
    proposals = proposals.to(torch.float64).contiguous()
    out = torch.empty((proposals.shape[0], num_samples, channels), dtype=features.dtype)
    kernel("_cpu", "sample_proposal_features", features.dtype)(
        address(features), num_snippets, channels, address(lengths), address(proposals), proposals.shape[0],
        num_samples, expand, address(out))
    return out


def sample_proposal_features_backward_cpu(grad_out, proposals, lengths, num_snippets, expand):
    grad_out = grad_out.contiguous()
    num_proposals, num_samples, channels = grad_out.shape
    proposals = proposals.to(torch.float64).contiguous()
    grad_features = torch.empty((lengths.shape[0], num_snippets, channels), dtype=grad_out.dtype)
    kernel("_cpu", "sample_proposal_features_backward", grad_out.dtype)(
        address(grad_out), lengths.shape[0], num_snippets, channels, address(lengths), address(proposals),
        num_proposals, num_samples, expand, address(grad_features))
    return grad_features
