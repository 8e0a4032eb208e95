"""Problem matchers (`::add-matcher::file.json`): turn tool output lines into annotations.

The matcher file format and the matching rules are the runner's: a matcher has an `owner`, an
optional default `severity` and `fromPath`, and one or more `pattern`s. One pattern matches one
line. Several patterns match consecutive lines, the earlier ones collecting values for the last;
a `loop` last pattern keeps matching further lines against the same start. Configurations are
job-wide (a matcher added in one step applies to the following steps), newest first; adding a
matcher with an existing owner replaces it.

Regexes are compiled once, when the matcher is added, with the `regex` module in ASCII mode (the
runner uses .NET's ECMAScript mode: `\\d` and `\\w` are ASCII there too). Like the runner, each
match has a time limit (1 s, or GITHUB_ACTIONS_RUNNER_ISSUE_MATCHER_TIMEOUT as a .NET TimeSpan):
a pathological pattern cannot stall the event loop, and a matcher that times out three times on
one line is removed for the rest of the step.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from msgspec import Struct, field

from github_runner.engine.commands.effects import Debug, Effect, Issue

_COLOR = re.compile(r"\x1b\[[0-9;]*m?")
_DIGITS = re.compile(r"[0-9]+\Z")
_FIELDS = ("file", "line", "column", "severity", "code", "message", "fromPath")
_TIMESPAN = re.compile(r"\s*(?:(\d+)\.)?(\d+):(\d+)(?::(\d+)(?:\.(\d+))?)?\s*\Z")
TIMEOUT_VARIABLE = "GITHUB_ACTIONS_RUNNER_ISSUE_MATCHER_TIMEOUT"
MAX_ATTEMPTS = 3


def parse_timespan(text: str | None) -> float | None:
    """Seconds in a .NET TimeSpan string (`5` is days, `00:00:02`, `1.02:03:04.5`), else None."""
    if not text:
        return None
    if text.strip().isdigit():
        return int(text) * 86400.0
    m = _TIMESPAN.match(text)
    if not m:
        return None
    days, hours, minutes, seconds, fraction = m.groups()
    if int(hours) > 23 or int(minutes) > 59 or int(seconds or 0) > 59:
        return None
    total = int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60 + int(seconds or 0)
    return total + (float(f"0.{fraction}") if fraction else 0.0)


def matcher_timeout(*sources: Mapping[str, str]) -> float:
    """The first positive timeout among the sources (job variables, then the runner env), else 1 s."""
    for source in sources:
        value = parse_timespan(source.get(TIMEOUT_VARIABLE))
        if value is not None and value > 0:
            return value
    return 1.0


class MatcherError(ValueError):
    """The matcher file is invalid; the message is the runner's."""


class PatternConfig(Struct, frozen=True):
    regex: Any  # a compiled `regex` pattern
    groups: dict[str, int]  # field name -> group index
    loop: bool = False


class MatcherConfig(Struct, frozen=True):
    owner: str
    severity: str
    from_path: str
    patterns: tuple[PatternConfig, ...]


def _compile(pattern: str) -> Any:
    import regex  # here, not at the top: ~10 ms of a cold `exec` that adds no matcher

    try:
        return regex.compile(pattern, regex.ASCII)
    except regex.error as error:
        raise MatcherError(f"Invalid regular expression '{pattern}': {error}") from None


def _pattern(raw: dict[str, Any], first: bool, last: bool, seen: dict[str, int]) -> PatternConfig:
    loop = bool(raw.get("loop", False))
    if loop and (first or not last):
        raise MatcherError("Only the last pattern in a multiline matcher may set 'loop'")
    if loop and raw.get("message") is None:
        raise MatcherError("The loop pattern must set 'message'")
    regex = _compile(str(raw.get("regexp") or ""))
    group_count = regex.groups + 1
    groups: dict[str, int] = {}
    for name in _FIELDS:
        value = raw.get(name)
        if value is None:
            continue
        if name in seen:
            raise MatcherError(f"The property '{name}' is set twice")
        if not isinstance(value, int) or value < 0 or value >= group_count:
            raise MatcherError(f"The property '{name}' is set to {value} which is out of range")
        seen[name] = groups[name] = value
    return PatternConfig(regex, groups, loop)


def parse_matchers(document: Any) -> list[MatcherConfig]:
    """Validate a matcher file's JSON (`{"problemMatcher": [...]}`) like the runner does."""
    raw_matchers = (document or {}).get("problemMatcher") or [] if isinstance(document, dict) else []
    matchers: list[MatcherConfig] = []
    owners: set[str] = set()
    for raw in raw_matchers:
        owner = raw.get("owner") or ""
        if not owner:
            raise MatcherError("Owner must not be empty")
        severity = raw.get("severity") or ""
        if severity.upper() not in ("", "ERROR", "WARNING", "NOTICE"):
            raise MatcherError(f"Matcher '{owner}' contains unexpected default severity '{severity}'")
        raw_patterns = raw.get("pattern") or []
        if not raw_patterns:
            raise MatcherError(f"Matcher '{owner}' does not contain any patterns")
        seen: dict[str, int] = {}
        patterns = tuple(
            _pattern(p, i == 0, i == len(raw_patterns) - 1, seen) for i, p in enumerate(raw_patterns)
        )
        if "message" not in seen:
            raise MatcherError("At least one pattern must set 'message'")
        if owner.lower() in owners:
            raise MatcherError(f"Duplicate owner name '{owner}'")
        owners.add(owner.lower())
        matchers.append(MatcherConfig(owner, severity, raw.get("fromPath") or "", patterns))
    return matchers


def load_matchers(path: str) -> list[MatcherConfig]:
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise MatcherError(f"Could not find file '{path}'.") from None
    except (OSError, ValueError) as error:
        raise MatcherError(f"Unable to read problem matcher file '{path}': {error}") from None
    return parse_matchers(document)


class Match(Struct):
    values: dict[str, str | None] = field(default_factory=dict)


def _values(running: Match | None, pattern: PatternConfig, m: Any) -> dict[str, str | None]:
    values: dict[str, str | None] = {}
    for name in _FIELDS:
        earlier = running.values.get(name) if running else None
        if earlier is not None:
            values[name] = earlier
        elif name in pattern.groups:
            values[name] = m.group(pattern.groups[name]) or ""
        else:
            values[name] = None
    return values


class LiveMatcher:
    """One matcher with its multi-line state, for one step's output."""

    def __init__(self, config: MatcherConfig) -> None:
        self.config = config
        self.patterns = config.patterns
        self.reset()

    def reset(self) -> None:
        self.state: list[Match | None] = [None] * (len(self.patterns) - 1)

    def match(self, line: str, timeout: float) -> Match | None:
        """Raises TimeoutError when a pattern takes longer than `timeout` seconds."""
        patterns = self.patterns
        if len(patterns) == 1:
            m = patterns[0].regex.search(line, timeout=timeout)
            return self._final(Match(_values(None, patterns[0], m))) if m else None
        last = len(patterns) - 1
        for i in range(last, -1, -1):
            running = self.state[i - 1] if i > 0 else None
            if i != 0 and running is None:
                continue
            pattern = patterns[i]
            m = pattern.regex.search(line, timeout=timeout)
            if m:
                if i == last:
                    self.reset()
                    if pattern.loop:
                        self.state[i - 1] = running
                    return self._final(Match(_values(running, pattern, m)))
                self.state[i] = Match(_values(running, pattern, m))
            elif i == last:
                self.state[i - 1] = None
            else:
                self.state[i] = None
        return None

    def _final(self, match: Match) -> Match:
        if not match.values.get("severity") and self.config.severity:
            match.values["severity"] = self.config.severity
        if not match.values.get("fromPath") and self.config.from_path:
            match.values["fromPath"] = self.config.from_path
        return match


class MatcherSet:
    """The live matchers of one step, kept in the job's order (newest first)."""

    def __init__(self, configs: list[MatcherConfig], workspace: str | None, timeout: float = 1.0) -> None:
        self.live = [LiveMatcher(c) for c in configs]
        self.workspace = workspace
        self.timeout = timeout

    def update(self, configs: list[MatcherConfig]) -> None:
        kept = {id(m.config): m for m in self.live}
        self.live = [kept.get(id(c)) or LiveMatcher(c) for c in configs]

    def issue_for(self, line: str) -> tuple[Issue | None, list[Effect]]:
        """(the annotation the line becomes, or None; debug/warning effects from timeouts)."""
        stripped = _COLOR.sub("", line) if "\x1b[" in line else line
        notes: list[Effect] = []
        for matcher in list(self.live):
            match = self._match(matcher, stripped, notes)
            if match is None:
                continue
            for other in self.live:
                if other is not matcher:
                    other.reset()
            issue = self._to_issue(match, stripped)
            if issue is not None:
                return issue, notes
        return None, notes

    def _match(self, matcher: LiveMatcher, line: str, notes: list[Effect]) -> Match | None:
        owner = matcher.config.owner
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                return matcher.match(line, self.timeout)
            except TimeoutError as error:
                if attempt < MAX_ATTEMPTS:
                    notes.append(Debug(f"Timeout processing issue matcher '{owner}' against line '{line}'. "
                                       f"Exception: {error!r}"))
                else:
                    notes.append(Issue("warning", f"Removing issue matcher '{owner}'. Matcher failed "
                                       f"{MAX_ATTEMPTS} times. Error: {error}"))
                    self.live = [m for m in self.live if m is not matcher]
        return None

    def _to_issue(self, match: Match, line: str) -> Issue | None:
        v = match.values
        message = v.get("message") or ""
        if not message.strip():
            return None
        severity = (v.get("severity") or "").lower()
        if severity not in ("", "error", "warning", "notice"):
            return None
        props: dict[str, str] = {}
        for key, name in (("line", "line"), ("col", "column")):
            value = v.get(name)
            if value and _DIGITS.match(value):
                props[key] = str(int(value))
        code = v.get("code")
        if code and code.strip():
            props["code"] = code.strip()
        file = self._file(v.get("file"), v.get("fromPath"))
        if file:
            props["file"] = file
        return Issue(severity or "error", message, props, log_message=line)  # type: ignore[arg-type]

    def _file(self, file: str | None, from_path: str | None) -> str | None:
        """Repository-relative path of an existing file under the workspace, else dropped."""
        if not file or not file.strip() or not self.workspace:
            return None
        if from_path and from_path.strip() and not os.path.isabs(file):
            directory = os.path.dirname(from_path)
            if directory.strip():
                file = os.path.join(directory, file)
        if not os.path.isabs(file):
            file = os.path.join(self.workspace, file)
        file = os.path.normpath(file)
        root = os.path.normpath(self.workspace)
        if not os.path.isfile(file) or not file.startswith(root + os.sep):
            return None
        return os.path.relpath(file, root)
