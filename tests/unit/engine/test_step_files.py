"""StepFiles: fresh empty files per step; empty files are skipped, missing ones still reported."""

from __future__ import annotations

import os
from pathlib import Path

from github_runner.engine.commands import Debug, SetEnv, SetOutput, StepFiles


def test_fresh_empty_files_and_what_a_step_wrote(tmp_path: Path) -> None:
    files = StepFiles.create(tmp_path / "fc")
    assert sorted(files.paths) == ["GITHUB_ENV", "GITHUB_OUTPUT", "GITHUB_PATH", "GITHUB_STATE",
                                   "GITHUB_STEP_SUMMARY"]
    assert all(p.is_file() and p.stat().st_size == 0 for p in files.paths.values())
    assert files.process(str).effects == []
    files.paths["GITHUB_ENV"].write_text("A=1\n")
    files.paths["GITHUB_OUTPUT"].write_text("o<<EOF\nx\nEOF\n")
    os.unlink(files.paths["GITHUB_STATE"])
    effects = files.process(str).effects
    assert effects[0] == SetEnv("A", "1") and effects[-1] == SetOutput("o", "x")
    assert any(isinstance(e, Debug) and "File does not exist" in e.message for e in effects)
    nxt = StepFiles.create(tmp_path / "fc", previous=files)
    assert not any(p.exists() for p in files.paths.values())
    assert set(nxt.paths.values()).isdisjoint(files.paths.values())
    nxt.remove()
    assert list((tmp_path / "fc").iterdir()) == []


def test_a_link_planted_at_a_name_is_replaced_not_followed(tmp_path: Path, monkeypatch) -> None:
    import uuid

    fixed = uuid.UUID(int=7)
    monkeypatch.setattr(uuid, "uuid4", lambda: fixed)
    target = tmp_path / "victim"
    target.write_text("keep")
    (tmp_path / "fc").mkdir()
    (tmp_path / "fc" / f"set_env_{fixed}").symlink_to(target)
    files = StepFiles.create(tmp_path / "fc")
    assert not files.paths["GITHUB_ENV"].is_symlink() and target.read_text() == "keep"
