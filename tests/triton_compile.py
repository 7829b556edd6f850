"""Compile every Triton kernel of ptal for a GPU on a machine without one: ``python -m tests.triton_compile``.

The CPU machines test the Triton backends under Triton's interpreter, which runs code that Triton's compiler
may reject (types, constexpr use, unsupported float64 operations). This runs each op's Triton glue, on CPU
tensors, with a stand-in driver for an sm_90 GPU (H100/H200): every kernel the glue launches is compiled to
a cubin with the arguments, types and constexprs the glue gives it (float32 and float64 inputs, several block
sizes), and is never launched; the buffers it would fill read as ones. Prints one line per compiled
kernel variant, then ``compiled: <kernel names>``. Needs TRITON_INTERPRET unset (tests/test_triton_compiles.py
runs it in a subprocess).
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import torch

TRITON_SOURCES = Path(__file__).resolve().parent.parent / "ptal_core" / "triton"
TARGET_ARCH = 90  # H100 and H200


def launched_kernels() -> set[str]:
    """The kernels ptal_core/triton launches (``name[grid](...)``), by name."""
    return {name for path in TRITON_SOURCES.glob("*.py")
            for name in re.findall(r"\b(_\w+_kernel)\[", path.read_text())}


def compile_only(compiled: dict[str, int]) -> None:
    """From here on, a Triton launch compiles its kernel for sm_90 and records it, and launches nothing."""
    from triton.backends.compiler import GPUTarget
    from triton.runtime import driver
    from triton.runtime.jit import JITFunction

    class CompileOnlyDriver:
        """What JITFunction asks of the active driver, for an sm_90 device."""

        def get_current_target(self):
            return GPUTarget("cuda", TARGET_ARCH, 32)

        def get_current_device(self):
            return 0

        def get_current_stream(self, device=None):
            return 0

        def is_active(self):
            return True

    driver.set_active(CompileOnlyDriver())
    run = JITFunction.run

    def compile_instead(self, *args, grid, warmup, **kwargs):
        kernel = run(self, *args, grid=grid, warmup=True, **kwargs)
        assert kernel.asm.get("cubin"), f"{self.fn.__name__}: no cubin"
        compiled[self.fn.__name__] = compiled.get(self.fn.__name__, 0) + 1
        return kernel

    JITFunction.run = compile_instead
    empty = torch.empty
    torch.empty = lambda *args, **kwargs: empty(*args, **kwargs).fill_(1)  # what the kernels would have written

    import ptal_core.backends
    ptal_core.backends.triton_interpreted = lambda: True  # the Triton backends accept CPU tensors


def run_every_op(dtype: torch.dtype) -> None:
    """Each Triton backend, forward and backward, on small inputs of ``dtype`` (two sizes: other blocks)."""
    from ptal import ops

    generator = torch.Generator().manual_seed(0)
    for batch, snippets, classes in ((2, 9, 3), (3, 300, 21)):
        lengths = torch.tensor([snippets] + [snippets - 1] * (batch - 1))
        a = torch.rand(snippets, 2, generator=generator, dtype=dtype).cumsum(1)
        ops.segment_iou(a, a[:5], length_offset=0.1, backend="triton")
        probs = torch.rand(batch, snippets, generator=generator, dtype=dtype)
        ops.generate_proposals(probs, probs.flip(1), lengths, d_max=64, backend="triton")
        cas = torch.rand(batch, snippets, classes + 1, generator=generator, dtype=dtype)
        points = torch.zeros(batch, snippets, classes, dtype=dtype)
        points[:, 1, 0] = 1
        for labels in (points, points.bool()):
            ops.select_seeds(cas, labels, lengths, backend="triton")
        ops.threshold_proposals(cas, [0.2, 0.5], lengths, backend="triton")
        scores = probs.clone().requires_grad_()
        segments = torch.tensor([[0, 1, 4], [batch - 1, 0, 2]])
        ops.oic_scores(scores, segments, lengths, backend="triton").sum().backward()
        features = torch.rand(batch, snippets, 40, generator=generator, dtype=dtype, requires_grad=True)
        proposals = torch.tensor([[0, 1.0, 5.5], [batch - 1, 0.0, 3.0]], dtype=dtype)
        ops.sample_proposal_features(features, proposals, num_samples=8, lengths=lengths,
                                     backend="triton").sum().backward()
        half_types = (torch.float16, torch.bfloat16) if dtype == torch.float32 else ()
        for features_dtype in (dtype, *half_types):  # half types are read as such, computed in float32
            channels_first = features.detach().transpose(1, 2).to(features_dtype).contiguous().requires_grad_()
            ops.roi_align_1d(channels_first, proposals, 5, sampling_ratio=2, backend="triton").sum().backward()


def main() -> int:
    if os.environ.get("TRITON_INTERPRET", "0") == "1":
        raise SystemExit("unset TRITON_INTERPRET: the interpreter would run the kernels instead of compiling them")
    compiled: dict[str, int] = {}
    compile_only(compiled)
    for dtype in (torch.float32, torch.float64):
        run_every_op(dtype)
    for name, variants in sorted(compiled.items()):
        print(f"{name}: {variants} launches compiled for sm_{TARGET_ARCH}")
    missing = launched_kernels() - set(compiled)
    print("compiled:", " ".join(sorted(compiled)))
    if missing:
        print("never launched here:", " ".join(sorted(missing)))
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
