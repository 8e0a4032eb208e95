"""The subset of `@actions/glob` that `hashFiles()` relies on, for POSIX paths.

Semantics kept from the runner's hashFiles helper: patterns are lines (trimmed; empty lines and
`#` comments skipped), `!` negates, the last matching pattern wins, a pattern matching a
directory also matches everything below it, `*`/`?`/`[...]` never cross `/`, `**` spans any
number of segments, dot-files match, no brace or extglob expansion.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Callable, Iterator

from msgspec import Struct

_MAGIC = re.compile(r"[*?\[]")


class GlobPattern(Struct, frozen=True):
    negate: bool
    regex: re.Pattern[str]
    search_root: str
    dirs_only: bool
    segments: tuple[re.Pattern[str] | None, ...]  # per path segment; None is `**`

    def matches(self, path: str) -> bool:
        return self.regex.match(path) is not None

    def could_match_below(self, directory: str) -> bool:
        """Whether something at or below `directory` may match (@actions/glob partialMatch)."""
        states = self._closure({0})
        for part in directory.strip("/").split("/") if directory != "/" else []:
            following: set[int] = set()
            for i in states:
                if i == len(self.segments):
                    return True  # the directory itself matched: its descendants all match
                seg = self.segments[i]
                if seg is None:
                    following.add(i)
                elif seg.match(part):
                    following.add(i + 1)
            states = self._closure(following)
            if not states:
                return False
        return True

    def _closure(self, states: set[int]) -> set[int]:
        todo = list(states)
        while todo:
            i = todo.pop()
            if i < len(self.segments) and self.segments[i] is None and i + 1 not in states:
                states.add(i + 1)
                todo.append(i + 1)
        return states


def _segment_regex(segment: str) -> str:
    out: list[str] = []
    i = 0
    n = len(segment)
    while i < n:
        c = segment[i]
        if c == "\\" and i + 1 < n:
            out.append(re.escape(segment[i + 1]))
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            j = i + 1
            if j < n and segment[j] in "!^":
                j += 1
            if j < n and segment[j] == "]":
                j += 1
            while j < n and segment[j] != "]":
                j += 1
            if j >= n:
                out.append(re.escape(c))
            else:
                body = segment[i + 1 : j]
                if body[:1] in ("!", "^"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = j + 1
                continue
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


def _unescape(segment: str) -> str:
    return re.sub(r"\\(.)", r"\1", segment)


def compile_pattern(line: str, cwd: str) -> GlobPattern | None:
    """One pattern line -> matcher, made absolute against `cwd`; None for blank/comment lines."""
    line = line.strip()
    if not line or line.startswith("#"):
        return None
    negate = False
    while line.startswith("!"):
        negate = not negate
        line = line[1:].strip()
    if not line:
        return None
    if line.startswith("~"):
        line = os.path.expanduser("~") + line[1:]
    dirs_only = line.endswith("/") and len(line) > 1
    if not line.startswith("/"):
        line = posixpath.join(cwd, line)
    segments: list[str] = []
    for seg in line.split("/"):
        if seg in ("", "."):
            continue
        if seg == ".." and segments and not _MAGIC.search(segments[-1]) and segments[-1] != "..":
            segments.pop()
            continue
        if seg == "..":
            continue
        segments.append(seg)
    root_parts: list[str] = []
    for seg in segments:
        if _MAGIC.search(seg):
            break
        root_parts.append(_unescape(seg))
    body = []
    for seg in segments:
        if seg == "**":
            body.append("(?:/[^/]+)*")
        else:
            body.append("/" + _segment_regex(seg))
    # A match on a directory implies its descendants.
    regex = re.compile("".join(body) + "(?:/.*)?\\Z", re.DOTALL)
    matchers = tuple(
        None if seg == "**" else re.compile(_segment_regex(seg) + "\\Z", re.DOTALL) for seg in segments
    )
    return GlobPattern(negate, regex, "/" + "/".join(root_parts), dirs_only, matchers)


def _search_roots(patterns: list[GlobPattern]) -> list[str]:
    roots: list[str] = []
    for p in patterns:
        if p.negate:
            continue
        root = p.search_root
        if any(root == r or root.startswith(r.rstrip("/") + "/") for r in roots):
            continue
        roots = [r for r in roots if not r.startswith(root.rstrip("/") + "/")] + [root]
    return roots


def _children(path: str, follow_links: bool) -> list[tuple[str, bool]]:
    try:
        with os.scandir(path) as it:
            entries = sorted(it, key=lambda e: os.fsencode(e.name))
    except OSError:
        return []
    out: list[tuple[str, bool]] = []
    for entry in entries:
        if follow_links and entry.is_symlink() and not os.path.exists(entry.path):
            continue  # omitBrokenSymbolicLinks: a dangling link is dropped when following links
        try:
            is_dir = entry.is_dir(follow_symlinks=follow_links)
        except OSError:
            is_dir = False
        out.append((entry.path, is_dir))
    return out


def _walk(
    root: str, follow_links: bool, descend: Callable[[str], bool] = lambda _: True
) -> Iterator[tuple[str, bool]]:
    """Depth-first pre-order, each directory's entries in byte order; (path, is_directory).

    When following links, a directory whose real path is already on the way down from the
    root is a cycle and is skipped (the same directory reached twice by different links is
    walked twice, as @actions/glob does).
    """
    if not os.path.lexists(root):
        return
    is_dir = os.path.isdir(root) and (follow_links or not os.path.islink(root))
    yield root, is_dir
    if not is_dir or not descend(root):
        return
    chain = [os.path.realpath(root)] if follow_links else []
    stack = [iter(_children(root, follow_links))]
    while stack:
        item = next(stack[-1], None)
        if item is None:
            stack.pop()
            if chain:
                chain.pop()
            continue
        path, d = item
        real = os.path.realpath(path) if d and follow_links else ""
        if real and real in chain:
            continue
        yield path, d
        if d and descend(path):
            stack.append(iter(_children(path, follow_links)))
            if follow_links:
                chain.append(real)


def glob(lines: list[str], cwd: str, follow_links: bool = False) -> Iterator[str]:
    """Matching paths (files and directories) in the order @actions/glob yields them."""
    patterns = [p for p in (compile_pattern(line, cwd) for line in lines) if p is not None]
    if not patterns:
        return
    includes = [p for p in patterns if not p.negate]

    def descend(directory: str) -> bool:
        return any(p.could_match_below(directory) for p in includes)

    for root in _search_roots(patterns):
        for path, is_dir in _walk(root, follow_links, descend):
            matched = False
            for p in patterns:
                if p.dirs_only and not is_dir and p.regex.match(path) and not _descendant_match(p, path):
                    continue
                if p.matches(path):
                    matched = not p.negate
            if matched:
                yield path


def _descendant_match(p: GlobPattern, path: str) -> bool:
    parent = posixpath.dirname(path)
    while parent and parent != "/":
        if p.matches(parent) and os.path.isdir(parent):
            return True
        parent = posixpath.dirname(parent)
    return False
