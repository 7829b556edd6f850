"""After ``pip install .`` (not editable), Python started in the repository root imports the source tree's
``ptal_core``, which has no compiled module: the error says so and what to do, not "reinstall"."""
import subprocess
import sys
from pathlib import Path

import torch

import ptal_core
from ptal_core import backends
from ptal_core.backends import source_tree_root, why_unavailable
from tests.limits import HANG_GUARD_S

REPOSITORY = Path(__file__).resolve().parents[1]


def source_checkout(root: Path) -> Path:
    """A fake repository at ``root``: pyproject.toml, CMakeLists.txt and an empty ptal_core/; -> ptal_core/."""
    (root / "pyproject.toml").write_text("[project]\nname = 'ptal'\n")
    (root / "CMakeLists.txt").write_text("project(ptal)\n")
    (root / "ptal_core").mkdir()
    return root / "ptal_core"


def message(root: Path) -> str:
    return (f"ptal_core was imported from the source tree at {root.resolve()}, which has no compiled module: "
            "run Python outside the repository root, or install in editable mode (pip install -e .)")


def test_a_source_checkout_alone_is_a_source_tree(tmp_path):
    assert source_tree_root([str(source_checkout(tmp_path))]) == tmp_path.resolve()


def test_installed_and_editable_packages_are_not(tmp_path):
    package = source_checkout(tmp_path)
    installed = tmp_path / "site-packages" / "ptal_core"
    installed.mkdir(parents=True)
    assert source_tree_root([str(installed)]) is None
    assert source_tree_root([str(installed), str(package)]) is None  # what an editable install lists
    (tmp_path / "CMakeLists.txt").unlink()
    assert source_tree_root([str(package)]) is None


def test_missing_modules_of_a_source_tree_are_explained(tmp_path, monkeypatch):
    monkeypatch.setattr(ptal_core, "__path__", [str(source_checkout(tmp_path))])
    monkeypatch.setattr(backends, "compiled_module", lambda name: None)
    assert why_unavailable("cpu", torch.device("cpu")) == message(tmp_path)
    assert why_unavailable("cuda", torch.device("cuda")) == message(tmp_path)


def test_other_missing_modules_keep_their_remedy(tmp_path, monkeypatch):
    installed = tmp_path / "site-packages" / "ptal_core"
    installed.mkdir(parents=True)
    monkeypatch.setattr(ptal_core, "__path__", [str(installed)])
    monkeypatch.setattr(backends, "compiled_module", lambda name: None)
    assert "reinstall ptal with `pip install .`" in why_unavailable("cpu", torch.device("cpu"))
    # A source tree built in place has its CPU module; a missing CUDA module is then a build without nvcc.
    monkeypatch.setattr(ptal_core, "__path__", [str(source_checkout(tmp_path))])
    monkeypatch.setattr(backends, "compiled_module", lambda name: object() if name == "_cpu" else None)
    assert "built without its CUDA module" in why_unavailable("cuda", torch.device("cuda"))


def test_python_started_in_the_repository_root(tmp_path):
    # The interpreter's own finders only, as without an editable install: `import ptal_core` finds the
    # source tree through sys.path[0], the current directory.
    script = ("import importlib.machinery as m, sys\n"
              "own = (m.BuiltinImporter, m.FrozenImporter, m.PathFinder)\n"
              "sys.meta_path[:] = [finder for finder in sys.meta_path if finder in own]\n"
              "import torch\n"
              "from ptal_core.backends import why_unavailable\n"
              "print(why_unavailable('cpu', torch.device('cpu')))\n")
    result = subprocess.run([sys.executable, "-c", script], cwd=REPOSITORY, capture_output=True, text=True,
                            timeout=HANG_GUARD_S)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == message(REPOSITORY)


def test_ptal_info_explains_a_missing_module(tmp_path, monkeypatch, capsys):
    from ptal.cli import main

    monkeypatch.setattr(ptal_core, "__path__", [str(source_checkout(tmp_path))])
    monkeypatch.setattr(backends, "compiled_module", lambda name: None)
    monkeypatch.setattr(ptal_core, "compiled_module", lambda name: None)
    assert main(["info"]) == 0
    assert f"C++ CPU module MISSING: {message(tmp_path)}" in capsys.readouterr().out
