"""Hypothesis strategies for segment collections with many ties and zero-length segments."""
import torch
from hypothesis import strategies as st


@st.composite
def segment_sets(draw, max_size: int = 60, max_groups: int = 4, dtype=None):
    """(segments (N, 2), scores (N,), idxs (N,)) on a coarse grid, so that ties, touching and identical
    segments and zero lengths are common; or, half of the time, on a fine random grid."""
    n = draw(st.integers(0, max_size))
    dtype = dtype or draw(st.sampled_from([torch.float32, torch.float64]))
    coarse = draw(st.booleans())
    seed = draw(st.integers(0, 2**31 - 1))
    gen = torch.Generator().manual_seed(seed)
    if coarse:
        starts = torch.randint(0, 20, (n,), generator=gen).to(dtype) / 2
        lengths = torch.randint(0, 8, (n,), generator=gen).to(dtype) / 2
        scores = torch.randint(1, 6, (n,), generator=gen).to(dtype) / 5
    else:
        starts = torch.rand(n, generator=gen, dtype=dtype) * 100
        lengths = torch.rand(n, generator=gen, dtype=dtype) * 30
        scores = torch.rand(n, generator=gen, dtype=dtype)
    idxs = torch.randint(0, draw(st.integers(1, max_groups)), (n,), generator=gen)
    return torch.stack([starts, starts + lengths], 1), scores, idxs
