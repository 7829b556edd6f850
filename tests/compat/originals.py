"""ActionFormer's and OpenTAD's own post-processing and evaluation code, loaded from checkouts outside this
repository when they are there (the direct comparisons skip otherwise; the recorded fixtures hold their outputs).

    PTAL_ACTIONFORMER=/path/to/actionformer_release   (libs/utils: ``python setup.py build_ext --inplace``)
    PTAL_OPENTAD=/path/to/OpenTAD   (opentad/models/utils/post_processing/nms: ``python setup.py build_ext --inplace``)

Both name their NMS extension ``nms_1d_cpu``, and a process can load only one module of that name: the first
one asked for wins, the other's comparisons skip (run ``pytest tests/compat/test_opentad.py`` on its own).
Their evaluation needs pandas (and ActionFormer's joblib); ActionFormer's still calls ``np.float`` (removed in
NumPy 1.24), read as Python's float; OpenTAD's imports ``mmengine.registry.Registry``, stood in for when
mmengine is absent.
"""
from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sys
import types
from pathlib import Path

import numpy as np
import torch  # noqa: F401  (loads libc10 and libtorch, which the extensions link to)


_LOADED_EXTENSION: list = []  # (path, module): Python keeps one extension module named nms_1d_cpu per process


def _extension(folder: Path):
    """The ``nms_1d_cpu`` built in ``folder``, or None when there is none or another one is already loaded in
    this process (run ActionFormer's and OpenTAD's comparisons in separate processes to have both)."""
    found = sorted(folder.glob("nms_1d_cpu*.so"))
    if not found:
        return None
    if _LOADED_EXTENSION:
        path, module = _LOADED_EXTENSION[0]
        return module if path == found[0] else None
    loader = importlib.machinery.ExtensionFileLoader("nms_1d_cpu", str(found[0]))
    spec = importlib.util.spec_from_file_location("nms_1d_cpu", str(found[0]), loader=loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    _LOADED_EXTENSION.append((found[0], module))
    return module


def _source(path: Path, name: str, modules: dict, patch: tuple[str, str] | None = None):
    """Execute the file ``path`` as module ``name`` with ``modules`` importable while it loads, with the text
    replacement ``patch`` applied in memory."""
    saved = {key: sys.modules.get(key) for key in modules}
    sys.modules.update(modules)
    try:
        module = types.ModuleType(name)
        module.__file__ = str(path)
        source = path.read_text()
        if patch:
            source = source.replace(*patch)
        exec(compile(source, str(path), "exec"), module.__dict__)
        return module
    finally:
        for key, value in saved.items():
            if value is None:
                sys.modules.pop(key, None)
            else:
                sys.modules[key] = value


def actionformer():
    """ActionFormer's ``libs/utils`` as a namespace with ``batched_nms`` (and ``ANETdetection`` when pandas is
    installed), or None."""
    root = os.environ.get("PTAL_ACTIONFORMER")
    if not root:
        return None
    utils = Path(root) / "libs" / "utils"
    extension = _extension(utils)
    if extension is None:
        return None
    namespace = types.SimpleNamespace(batched_nms=_source(utils / "nms.py", "actionformer_nms",
                                                          {"nms_1d_cpu": extension}).batched_nms)
    if importlib.util.find_spec("pandas") and importlib.util.find_spec("joblib"):
        # np.float, which ActionFormer's metrics.py still uses, is Python's float (its joblib workers need the
        # change in the code itself).
        namespace.ANETdetection = _source(utils / "metrics.py", "actionformer_metrics", {},
                                          patch=("np.float)", "float)")).ANETdetection
    return namespace


def opentad():
    """OpenTAD's ``batched_nms`` (and its ``mAP`` evaluator when pandas is installed) as a namespace, or None."""
    root = os.environ.get("PTAL_OPENTAD")
    if not root:
        return None
    post = Path(root) / "opentad" / "models" / "utils" / "post_processing" / "nms"
    extension = _extension(post)
    if extension is None:
        return None
    namespace = types.SimpleNamespace(batched_nms=_source(post / "nms.py", "opentad_nms",
                                                          {"nms_1d_cpu": extension}).batched_nms)
    if importlib.util.find_spec("pandas"):
        evaluations = Path(root) / "opentad" / "evaluations"
        registry = types.ModuleType("mmengine.registry")
        registry.Registry = _Registry
        stand_ins = {} if importlib.util.find_spec("mmengine") else {
            "mmengine": types.ModuleType("mmengine"), "mmengine.registry": registry}
        package = types.ModuleType("opentad_evaluations")
        package.__path__ = [str(evaluations)]
        builder = _source(evaluations / "builder.py", "opentad_evaluations.builder", stand_ins)
        namespace.mAP = _source(evaluations / "mAP.py", "opentad_evaluations.mAP",
                                {**stand_ins, "opentad_evaluations": package,
                                 "opentad_evaluations.builder": builder}).mAP
    return namespace


class _Registry:
    """What OpenTAD's evaluators need of mmengine's Registry: a decorator that registers a class."""

    def __init__(self, name):
        self.name = name

    def register_module(self):
        return lambda cls: cls
