"""Environment and file providers: values in, clear errors naming the source out."""

from __future__ import annotations

from pathlib import Path

import pytest

from github_runner.secrets.providers import ProviderError
from github_runner.secrets.providers.env import from_environment
from github_runner.secrets.providers.file import from_directory, from_files, read_secret_file


def test_environment_names_and_renames() -> None:
    env = {"TOKEN": "t-value", "NPM_TOKEN": "n-value"}
    assert from_environment(["TOKEN", "NPM=NPM_TOKEN"], env) == {"TOKEN": "t-value", "NPM": "n-value"}
    with pytest.raises(ProviderError, match=r"MISSING: \$MISSING is not set"):
        from_environment(["MISSING"], env)


def test_files_trailing_newline_and_directory(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("abc-123\n")
    (tmp_path / "multi").write_text("line1\nline2\r\n")
    (tmp_path / ".hidden").write_text("x")
    assert read_secret_file(tmp_path / "token") == "abc-123"
    assert from_directory(tmp_path) == {"multi": "line1\nline2", "token": "abc-123"}
    assert from_files({"T": tmp_path / "token"}) == {"T": "abc-123"}


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    secret = tmp_path / "loose"
    secret.write_text("value")
    secret.chmod(0o644)
    with pytest.raises(ProviderError, match="loose: mode 644 .*chmod 600"):
        read_secret_file(secret, strict=True)
    secret.chmod(0o600)
    assert read_secret_file(secret, strict=True) == "value"
    with pytest.raises(ProviderError, match="nope: No such file"):
        read_secret_file(tmp_path / "nope")
    (tmp_path / "bin").write_bytes(b"\xff\xfe")
    with pytest.raises(ProviderError, match="bin: not UTF-8"):
        read_secret_file(tmp_path / "bin")
