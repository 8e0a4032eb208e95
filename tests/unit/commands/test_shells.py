"""Shell resolution and invocation, checked by running real scripts through real shells."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from github_runner.engine.shells import (
    INVALID_SHELL,
    ShellError,
    dotnet_format,
    resolve_shell,
    split_arguments,
)

PATH = os.environ.get("PATH", "")


def run(shell: str | None, script: str, tmp_path: Path, path: str = PATH) -> subprocess.CompletedProcess[str]:
    command = resolve_shell(shell, path=path)
    script_path = command.write_script(tmp_path, script)
    return subprocess.run(command.argv(str(script_path)), capture_output=True, text=True,
                          env={"PATH": path}, cwd=tmp_path, timeout=30)


def test_default_is_bash_dash_e_without_pipefail(tmp_path: Path) -> None:
    command = resolve_shell(None)
    assert (command.shell, command.args_format, command.extension) == ("sh", "-e {0}", ".sh")
    assert command.program == shutil.which("bash")
    assert command.describe() == f"shell: {shutil.which('bash')} -e {{0}}"
    done = run(None, "false | true\necho $BASH_VERSION >/dev/null; echo ok\nfalse\necho never", tmp_path)
    assert done.returncode == 1 and done.stdout == "ok\n"


def test_default_falls_back_to_sh_without_bash(tmp_path: Path) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "sh").symlink_to(shutil.which("sh") or "/bin/sh")
    command = resolve_shell(None, path=str(bindir))
    assert command.program == str(bindir / "sh") and command.args_format == "-e {0}"


def test_explicit_bash_uses_pipefail_and_no_profile(tmp_path: Path) -> None:
    command = resolve_shell("bash")
    assert command.args_format == "--noprofile --norc -e -o pipefail {0}"
    done = run("bash", "echo $- ; false | true\necho never", tmp_path)
    assert done.returncode == 1 and "e" in done.stdout.splitlines()[0]


def test_sh_and_python(tmp_path: Path) -> None:
    assert resolve_shell("sh").args_format == "-e {0}"
    done = run("python", "import sys\nprint(sys.argv[0].endswith('.py'))", tmp_path)
    assert done.returncode == 0 and done.stdout == "True\n"


def test_custom_shell_with_quoted_arguments(tmp_path: Path) -> None:
    command = resolve_shell('bash -c "source {0} && echo sourced"')
    assert command.extension == ".sh" and command.shell == "bash"  # extension keyed by COMMAND
    assert resolve_shell("perl {0}").extension == ""
    script = command.write_script(tmp_path, "echo in-script")
    assert command.argv(str(script)) == [shutil.which("bash"), "-c", f"source {script} && echo sourced"]
    done = subprocess.run(command.argv(str(script)), capture_output=True, text=True, timeout=30)
    assert done.stdout == "in-script\nsourced\n"


def test_pwsh_arguments_and_script_fixups(tmp_path: Path) -> None:
    """A stand-in `pwsh` on PATH prints the argv it received, so the split is checked for real."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    fake = bindir / "pwsh"
    fake.write_text("#!/bin/sh\nfor a in \"$@\"; do printf '[%s]\\n' \"$a\"; done\n")
    fake.chmod(0o755)
    command = resolve_shell("pwsh", path=f"{bindir}:{PATH}")
    assert command.extension == ".ps1"
    assert command.script_contents("Write-Host hi") == (
        "$ErrorActionPreference = 'stop'\nWrite-Host hi\n"
        "if ((Test-Path -LiteralPath variable:\\LASTEXITCODE)) { exit $LASTEXITCODE }"
    )
    done = subprocess.run(command.argv("/tmp/a b.ps1"), capture_output=True, text=True, timeout=30)
    assert done.stdout == "[-command]\n[. '/tmp/a b.ps1']\n"


def test_missing_and_invalid_shells() -> None:
    with pytest.raises(ShellError, match="cmd: command not found"):
        resolve_shell("cmd", path="/nonexistent")
    with pytest.raises(ShellError, match="no-such-shell: command not found"):
        resolve_shell("no-such-shell {0}")
    with pytest.raises(ShellError) as info:
        resolve_shell("perl -w")
    assert str(info.value) == INVALID_SHELL


def test_defaults_and_container_mode() -> None:
    assert resolve_shell(None, default_shell="sh").program == shutil.which("sh")
    assert resolve_shell("bash", default_shell="sh").shell == "bash"
    in_container = resolve_shell(None, in_container=True)
    assert (in_container.program, in_container.args_format) == ("sh", "-e {0}")
    assert resolve_shell("zsh -f {0}", in_container=True).argv("/__w/_temp/x") == ["zsh", "-f", "/__w/_temp/x"]


def test_python_falls_back_to_python3(tmp_path: Path) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "python3").symlink_to(sys.executable)
    assert resolve_shell("python", path=str(bindir)).program == str(bindir / "python3")


@pytest.mark.parametrize(("text", "argv"), [
    ('a "b c" d', ["a", "b c", "d"]),
    (r'a\\"b c"', ['a\\b c']),
    (r'a\"b', ['a"b']),
    (r'a\\\"b', ['a\\"b']),
    (r"C:\dir\file", [r"C:\dir\file"]),
    ('"a""b"', ['a"b']),
    ("  \t ", []),
    ('""', [""]),
])
def test_split_arguments_follows_dotnet(text: str, argv: list[str]) -> None:
    assert split_arguments(text) == argv


def test_format_braces() -> None:
    assert dotnet_format("{{x}} { 0 } {0}", "P") == "{x} P P"
    for bad in ("{1}", "{", "a}b"):
        with pytest.raises(ShellError):
            dotnet_format(bad, "P")


def test_script_path_quotes_are_escaped(tmp_path: Path) -> None:
    command = resolve_shell('bash -c "cat \\"{0}\\""')
    # The runner escapes quotes in the path, so a quoted {0} stays one argument.
    assert command.argv('/t/we"ird') == [shutil.which("bash"), "-c", 'cat "/t/we"ird"']


def test_relative_shell_paths_are_searched_under_path_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tool = tmp_path / "bin" / "tools" / "myshell"
    tool.parent.mkdir(parents=True)
    tool.write_text("#!/bin/sh\nexec sh \"$@\"\n")
    tool.chmod(0o755)
    monkeypatch.chdir(tmp_path / "bin")  # the runner's own cwd must not matter
    with pytest.raises(ShellError, match="tools/myshell: command not found"):
        resolve_shell("tools/myshell {0}", path="/usr/bin")
    assert resolve_shell("tools/myshell {0}", path=f"/usr/bin:{tmp_path / 'bin'}").program == str(tool)


def test_run_step_header_matches_the_runner_log() -> None:
    from github_runner.engine.shells import run_step_header

    command = resolve_shell("bash")
    title, lines = run_step_header("\n  echo one\necho two\n\n", command, {"A": "1"})
    assert title == "Run echo one"
    assert lines == ["\x1b[36;1m\x1b[0m", "\x1b[36;1m  echo one\x1b[0m", "\x1b[36;1mecho two\x1b[0m",
                     f"shell: {shutil.which('bash')} --noprofile --norc -e -o pipefail {{0}}", "env:", "  A: 1"]
    assert run_step_header("x", command)[1][-1].startswith("shell: ")
