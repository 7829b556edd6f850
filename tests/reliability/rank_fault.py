"""``ptal`` (its command line, unchanged) for torchrun, with a fault injected in one process: the process whose
``RANK`` is ``PTAL_FAULT_RANK`` meets ``PTAL_FAULT``:

* ``data``: a data error (ValueError) in its third training iteration;
* ``disk``: a full disk when it writes ``last.pt`` (tests/reliability/faults.py);
* ``no-writes``: a full disk for every file: a process that writes nothing does not notice.

    torchrun --nproc_per_node 2 tests/reliability/rank_fault.py train ...
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def inject(fault: str) -> None:
    if fault == "data":
        from ptal.models.lacp.method import LacpMethod

        training_loss = LacpMethod.training_loss

        def failing(self, iteration):
            if iteration == 3:
                raise ValueError("features/train/rgb/video_validation_0000854.npy: non-finite value in row 7")
            return training_loss(self, iteration)

        LacpMethod.training_loss = failing
    elif fault in ("disk", "no-writes"):
        import pytest

        from tests.reliability.faults import FullDisk

        FullDisk(pytest.MonkeyPatch()).fill("last.pt" if fault == "disk" else "*")
    else:
        raise SystemExit(f"unknown PTAL_FAULT {fault!r}")


if __name__ == "__main__":
    if os.environ.get("RANK") == os.environ.get("PTAL_FAULT_RANK"):
        inject(os.environ["PTAL_FAULT"])
    from ptal.cli import main

    sys.exit(main())
