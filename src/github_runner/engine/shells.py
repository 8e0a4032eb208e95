"""`run:` step shells, exactly as GitHub's runner resolves and invokes them.

`resolve_shell(step_shell, default_shell=...)` gives a `ShellCommand`: the program, the argument
format (with `{0}` for the script path), the script file extension and the content fix-ups.

- unspecified (no step `shell:`, no `defaults.run.shell`): `bash -e {0}`, falling back to
  `sh -e {0}` when bash is not on PATH (inside a job container: `sh -e {0}`, unresolved);
- `bash`: `bash --noprofile --norc -e -o pipefail {0}` (the runner's exact flags);
- `sh`: `sh -e {0}`; `python`: `python {0}`; `pwsh`/`powershell`: `-command ". '{0}'"` with
  `$ErrorActionPreference = 'stop'` before the script and the `$LASTEXITCODE` exit after it;
  `cmd`: `/D /E:ON /V:OFF /S /C "CALL "{0}""` (Windows only: on Linux it is not on PATH);
- anything else is `COMMAND [ARGS]`, split at the first space; ARGS must contain `{0}`, and an
  empty ARGS takes the built-in default for COMMAND.

The argument string is formatted like .NET's `string.Format` and then split into argv with
.NET's rules for `ProcessStartInfo.Arguments` (double quotes group, backslashes escape quotes,
single quotes are literal), so `pwsh -command ". '{0}'"` reaches pwsh as two arguments.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

from msgspec import Struct

DEFAULT_ARGUMENTS: dict[str, str] = {
    "cmd": '/D /E:ON /V:OFF /S /C "CALL "{0}""',
    "pwsh": "-command \". '{0}'\"",
    "powershell": "-command \". '{0}'\"",
    "bash": "--noprofile --norc -e -o pipefail {0}",
    "sh": "-e {0}",
    "python": "{0}",
}
EXTENSIONS: dict[str, str] = {
    "cmd": ".cmd",
    "pwsh": ".ps1",
    "powershell": ".ps1",
    "bash": ".sh",
    "sh": ".sh",
    "python": ".py",
}
PWSH_PREPEND = "$ErrorActionPreference = 'stop'"
PWSH_APPEND = "if ((Test-Path -LiteralPath variable:\\LASTEXITCODE)) { exit $LASTEXITCODE }"
INVALID_SHELL = (
    "Invalid shell option. Shell must be a valid built-in (bash, sh, cmd, powershell, pwsh) "
    "or a format string containing '{0}'"
)


class ShellError(ValueError):
    """The step's shell cannot be used; the message is what the step log shows."""


def dotnet_format(template: str, argument: str) -> str:
    """`string.Format(template, argument)`: `{0}` (spaces allowed inside), `{{`, `}}`; else an error."""
    out: list[str] = []
    i, n = 0, len(template)
    while i < n:
        c = template[i]
        if c == "{":
            if template.startswith("{{", i):
                out.append("{")
                i += 2
                continue
            close = template.find("}", i)
            if close < 0 or template[i + 1 : close].strip() != "0":
                raise ShellError(f"Invalid shell arguments '{template}': only {{0}} may appear in braces "
                                 "(write {{ and }} for literal braces)")
            out.append(argument)
            i = close + 1
        elif c == "}":
            if not template.startswith("}}", i):
                raise ShellError(f"Invalid shell arguments '{template}': unbalanced '}}' (write }}}} for a literal brace)")
            out.append("}")
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def split_arguments(arguments: str) -> list[str]:
    """Split a command-line string into argv by .NET's ParseArgumentsIntoList rules."""
    args: list[str] = []
    i, n = 0, len(arguments)
    while i < n:
        while i < n and arguments[i] in " \t":
            i += 1
        if i == n:
            break
        current: list[str] = []
        in_quotes = False
        while i < n:
            backslashes = 0
            while i < n and arguments[i] == "\\":
                i += 1
                backslashes += 1
            if backslashes:
                if i >= n or arguments[i] != '"':
                    current.append("\\" * backslashes)
                else:
                    current.append("\\" * (backslashes // 2))
                    if backslashes % 2:
                        current.append('"')
                        i += 1
                continue
            c = arguments[i]
            if c == '"':
                if in_quotes and i < n - 1 and arguments[i + 1] == '"':
                    current.append('"')
                    i += 1
                else:
                    in_quotes = not in_quotes
                i += 1
                continue
            if c in " \t" and not in_quotes:
                break
            current.append(c)
            i += 1
        args.append("".join(current))
    return args


def which(command: str, path: str | None) -> str | None:
    """The runner's WhichUtil on Linux: an absolute existing path as is, else a PATH search."""
    if os.path.isabs(command):
        return command if os.path.isfile(command) else None
    search = path if path is not None else os.environ.get("PATH", "")
    if "/" not in command:
        return shutil.which(command, path=search)
    # A relative path is looked up under each PATH entry, never under the runner's own cwd.
    for directory in filter(None, search.split(os.pathsep)):
        candidate = os.path.join(directory, command)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


class ShellCommand(Struct, frozen=True):
    shell: str  # the shell name the runner keys its tables by: "sh" (default), "bash", "perl"...
    program: str  # resolved executable (or the bare name when resolved inside a container)
    args_format: str  # e.g. "-e {0}"
    extension: str  # script file extension, "" for custom shells

    def argv(self, script_path: str) -> list[str]:
        quoted = script_path.replace('"', '\\"')
        return [self.program, *split_arguments(dotnet_format(self.args_format, quoted))]

    def script_contents(self, script: str) -> str:
        """The runner's FixUpScriptContents (keyed by the exact, case-sensitive shell name)."""
        if self.shell == "cmd":
            return f"@echo off\n{script}"
        if self.shell in ("pwsh", "powershell"):
            return f"{PWSH_PREPEND}\n{script}\n{PWSH_APPEND}"
        return script

    def script_name(self) -> str:
        return f"{uuid.uuid4()}{self.extension}"

    def write_script(self, directory: Path, script: str) -> Path:
        """Write the fixed-up script as UTF-8 without a BOM; returns its host path."""
        path = directory / self.script_name()
        path.write_bytes(self.script_contents(script).encode("utf-8"))
        return path

    def describe(self) -> str:
        """The `shell: /usr/bin/bash -e {0}` line the runner prints in the step header."""
        return f"shell: {self.program} {self.args_format}"


def resolve_shell(
    shell: str | None,
    *,
    default_shell: str | None = None,
    path: str | None = None,
    in_container: bool = False,
) -> ShellCommand:
    """The shell for a `run:` step.

    shell: the step's `shell:` (already expression-evaluated); default_shell: `defaults.run.shell`
    from the job, else the workflow (not used inside composite actions: pass None there);
    path: PATH to search, including GITHUB_PATH additions (default: this process's PATH);
    in_container: the step runs in a job container, so nothing is looked up on the host.
    """
    chosen = shell or default_shell
    if not chosen:
        if in_container:
            return ShellCommand("sh", "sh", DEFAULT_ARGUMENTS["sh"], EXTENSIONS["sh"])
        program = which("bash", path) or which("sh", path)
        if program is None:
            raise ShellError("sh: command not found")
        return ShellCommand("sh", program, DEFAULT_ARGUMENTS["sh"], EXTENSIONS["sh"])
    name, _, rest = chosen.partition(" ")
    args = rest.lstrip() or DEFAULT_ARGUMENTS.get(name.lower(), "")
    if in_container:
        program = name
    else:
        found = which(name, path)
        if found is None and name == "python":
            # GitHub's images always have `python`; Debian has only python3. Same interpreter.
            found = which("python3", path)
        if found is None:
            hint = " (the cmd and powershell shells exist only on Windows runners)" if name.lower() in ("cmd", "powershell") else ""
            raise ShellError(f"{name}: command not found{hint}")
        program = found
    if "{0}" not in args:
        raise ShellError(INVALID_SHELL)
    return ShellCommand(name, program, args, EXTENSIONS.get(name.lower(), ""))


def run_step_header(script: str, command: ShellCommand, env: dict[str, str] | None = None) -> tuple[str, list[str]]:
    """The folded header GitHub logs before a `run:` step: (group title, lines inside the group).

    Title `Run <first non-blank script line>`; then every script line in bright cyan, the
    `shell: ...` line and the step's `env` context (`  NAME: value`), as the runner prints them.
    """
    first = script.lstrip(" \t\r\n")
    cut = min((i for i in (first.find("\r"), first.find("\n")) if i >= 0), default=-1)
    title = f"Run {first[:cut] if cut >= 0 else first}"
    lines = [f"\x1b[36;1m{line}\x1b[0m" for line in script.replace("\r\n", "\n").rstrip("\n").split("\n")]
    lines.append(command.describe())
    if env:
        lines.append("env:")
        lines.extend(f"  {key}: {value}" for key, value in env.items())
    return title, lines
