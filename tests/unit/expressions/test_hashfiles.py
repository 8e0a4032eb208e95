"""hashFiles() on real files: GitHub's digest-of-digests, glob rules, workspace boundary."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from github_runner.engine.expressions import EvalContext, ExpressionError, evaluate


def digest_of(*files: Path) -> str:
    outer = hashlib.sha256()
    for f in files:
        outer.update(hashlib.sha256(f.read_bytes()).digest())
    return outer.hexdigest()


@pytest.fixture()
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / "src" / "deep").mkdir(parents=True)
    (root / ".hidden").mkdir()
    (root / "a.txt").write_text("a")
    (root / "B.txt").write_text("B")
    (root / "src" / "x.lock").write_text("x")
    (root / "src" / "deep" / "y.lock").write_text("y")
    (root / ".hidden" / "z.lock").write_text("z")
    (tmp_path / "outside.lock").write_text("outside")
    return root


def hf(ws: Path, *patterns: str) -> str:
    args = ", ".join("'" + p.replace("'", "''") + "'" for p in patterns)
    return evaluate(f"hashFiles({args})", EvalContext({"github": {"workspace": str(ws)}}))


def test_single_file(ws: Path) -> None:
    assert hf(ws, "a.txt") == digest_of(ws / "a.txt")


def test_byte_order_depth_first(ws: Path) -> None:
    expected = digest_of(ws / ".hidden/z.lock", ws / "src/deep/y.lock", ws / "src/x.lock")
    assert hf(ws, "**/*.lock") == expected


def test_directory_pattern_implies_descendants(ws: Path) -> None:
    assert hf(ws, "src") == digest_of(ws / "src/deep/y.lock", ws / "src/x.lock")


def test_negation_and_last_match_wins(ws: Path) -> None:
    assert hf(ws, "**/*.lock", "!src/deep") == digest_of(ws / ".hidden/z.lock", ws / "src/x.lock")
    assert hf(ws, "**/*.lock", "!src/**", "src/x.lock") == digest_of(ws / ".hidden/z.lock", ws / "src/x.lock")


def test_newlines_and_comments_in_one_argument(ws: Path) -> None:
    # Separate search roots are walked in pattern order (@actions/glob getSearchPaths).
    assert hf(ws, "# comment\n  a.txt  \n\nB.txt") == digest_of(ws / "a.txt", ws / "B.txt")
    assert hf(ws, "B.txt", "a.txt") == digest_of(ws / "B.txt", ws / "a.txt")


def test_case_sensitive_and_character_classes(ws: Path) -> None:
    assert hf(ws, "b.txt") == ""
    assert hf(ws, "[aB].txt") == digest_of(ws / "B.txt", ws / "a.txt")
    assert hf(ws, "?.txt") == digest_of(ws / "B.txt", ws / "a.txt")


def test_files_outside_the_workspace_are_ignored(ws: Path) -> None:
    assert hf(ws, "../outside.lock") == ""
    assert hf(ws, str(ws.parent / "outside.lock")) == ""
    assert hf(ws, "nothing-*") == ""


def test_symlinks(ws: Path) -> None:
    (ws / "link.lock").symlink_to(ws.parent / "outside.lock")
    (ws / "linkdir").symlink_to(ws / "src", target_is_directory=True)
    # A link to a file inside the workspace tree is hashed by content; a linked directory is
    # not walked unless --follow-symbolic-links.
    assert hf(ws, "*.lock") == digest_of(ws.parent / "outside.lock")
    assert hf(ws, "linkdir/**") == ""
    followed = hf(ws, "--follow-symbolic-links", "linkdir/**")
    assert followed == digest_of(ws / "src/deep/y.lock", ws / "src/x.lock")


def test_symlink_cycle_terminates(ws: Path) -> None:
    (ws / "src" / "loop").symlink_to(ws / "src", target_is_directory=True)
    assert hf(ws, "--follow-symbolic-links", "src/**") == digest_of(ws / "src/deep/y.lock", ws / "src/x.lock")


def test_dangling_symlink_is_an_evaluation_error(ws: Path) -> None:
    # The runner stats every match; a dangling link makes hashFiles fail, not skip.
    (ws / "dangling.txt").symlink_to(ws / "missing")
    with pytest.raises(ExpressionError, match="hashFiles") as info:
        hf(ws, "*.txt")
    assert info.value.kind == "evaluation"


def test_workspace_field_wins_over_github_context(ws: Path, tmp_path: Path) -> None:
    ctx = EvalContext({"github": {"workspace": str(tmp_path)}}, workspace=ws)
    assert evaluate("hashFiles('a.txt')", ctx) == digest_of(ws / "a.txt")


def test_dangling_symlink_is_omitted_when_following_links(ws: Path) -> None:
    (ws / "dangling.txt").symlink_to(ws / "missing")
    assert hf(ws, "--FOLLOW-symbolic-links", "*.txt") == digest_of(ws / "B.txt", ws / "a.txt")


def test_unknown_option_is_an_error(ws: Path) -> None:
    with pytest.raises(ExpressionError, match="Invalid glob option --nope"):
        hf(ws, "--nope", "a.txt")


def test_a_directory_reached_by_two_links_is_walked_twice(ws: Path) -> None:
    (ws / "l1").symlink_to(ws / "src" / "deep", target_is_directory=True)
    (ws / "l2").symlink_to(ws / "src" / "deep", target_is_directory=True)
    y = ws / "src/deep/y.lock"
    assert hf(ws, "--follow-symbolic-links", "l*/**") == digest_of(y, y)


def test_walk_prunes_directories_no_pattern_can_reach(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from github_runner.engine.expressions import globmatch

    deep = ws / "src" / "deep" / "er" / "est"
    deep.mkdir(parents=True)
    (deep / "x.lock").write_text("deep")
    listed: list[str] = []
    real_scandir = globmatch.os.scandir

    def spy(path: str) -> object:
        listed.append(path)
        return real_scandir(path)

    monkeypatch.setattr(globmatch.os, "scandir", spy)
    assert hf(ws, "*/x.lock") == digest_of(ws / "src/x.lock")
    assert str(deep) not in listed and str(ws / "src" / "deep") not in listed


GLOB_SEGMENTS = ["a", "b", "*", "**", "?", "[ab]", "a*"]


def _tree(root: Path, paths: list[str]) -> None:
    for rel in paths:
        target = root / rel
        if target.exists() and target.is_dir():
            continue
        if any(parent.is_file() for parent in target.parents if str(parent).startswith(str(root))):
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(rel)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.lists(st.sampled_from(["a", "b", "ab", ".h"]), min_size=1, max_size=3).map("/".join), max_size=8),
    st.lists(
        st.tuples(st.booleans(), st.lists(st.sampled_from(GLOB_SEGMENTS), min_size=1, max_size=3).map("/".join)),
        min_size=1,
        max_size=3,
    ),
)
def test_pruned_walk_matches_full_walk(files: list[str], patterns: list[tuple[bool, str]]) -> None:
    import tempfile

    from github_runner.engine.expressions import globmatch

    lines = [("!" if neg else "") + pat for neg, pat in patterns]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _tree(root, files)
        pruned = list(globmatch.glob(lines, tmp))
        compiled = [p for p in (globmatch.compile_pattern(line, tmp) for line in lines) if p]
        # The same search without pruning: every entry below each search root, tested.
        expected = [
            path
            for search_root in globmatch._search_roots(compiled)
            for path, _ in globmatch._walk(search_root, False)
            if _last_match(compiled, path)
        ]
        assert pruned == expected


def _last_match(patterns: list, path: str) -> bool:
    matched = False
    for p in patterns:
        if p.matches(path):
            matched = not p.negate
    return matched
