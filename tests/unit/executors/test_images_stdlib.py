"""The image builder runs on the bare system python during CI set-up, before `uv sync` has
installed the project's dependencies: importing it must need the standard library only."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[3] / "src"
# Every third-party package the project depends on, made unimportable.
BLOCK = "import sys\nfor name in ('msgspec', 'click', 'rich', 'pydantic', 'ruamel', 'httpx', 'hyperscan'):\n    sys.modules[name] = None\n"


def test_image_builder_imports_without_the_dependencies() -> None:
    code = BLOCK + "import github_runner.executors.images as m\nprint(m.ExecutorError.__module__)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "github_runner.executors.errors"


def test_the_block_is_real() -> None:
    code = BLOCK + "import github_runner.executors.base"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"})
    assert proc.returncode != 0 and "msgspec" in proc.stderr
