"""The machine a benchmark ran on: CPU model, threads and a 2048 x 2048 float32 matmul's GFLOP/s, printed beside
absolute times so that they can be compared across machines."""
import platform
import time

import torch


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def matmul_gflops(size: int = 2048, repeats: int = 5) -> float:
    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


def describe() -> str:
    return (f"{cpu_model()}, {torch.get_num_threads()} torch threads, 2048x2048 float32 matmul "
            f"{matmul_gflops():.0f} GFLOP/s")
