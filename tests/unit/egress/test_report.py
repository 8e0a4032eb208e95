"""Audit -> allowlist report (§7 case 40): golden output, resolved-only, direct IPs, --check."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from github_runner.cli.main import cli
from github_runner.egress import report
from github_runner.egress.audit import read_records

DATA = Path(__file__).parent / "data"


def _report() -> report.Report:
    return report.build([(name, read_records(DATA / f"{name}.jsonl")) for name in ("run1", "run2")])


def test_golden_markdown_is_deterministic() -> None:
    text = report.render_markdown(_report())
    assert text == (DATA / "report.golden.md").read_text()
    assert text == report.render_markdown(_report())


def test_sections() -> None:
    rep = _report()
    assert rep.suggested() == ["a.cdn.example:443", "b.cdn.example:443", "c.cdn.example:443",
                               "registry.npmjs.org:443", "registry.npmjs.org:443/udp"]
    assert list(rep.resolved_only) == ["docker.io"]  # resolved, never connected: not suggested
    assert list(rep.direct) == ["198.51.100.30:3333/tcp"]
    assert list(rep.host_denied) == ["169.254.169.254:80/tcp"]
    assert rep.endpoints["registry.npmjs.org:443"].runs == {"run1", "run2"}
    assert [w[0] for w in rep.wildcard_suggestions()] == ["*.cdn.example:443"]


def test_multi_tenant_wildcard_warning() -> None:
    recs = []
    for i, host in enumerate(("a", "b", "c")):
        ip = f"198.51.100.{i + 1}"
        recs += [{"event": "dns", "action": "logged", "ts": f"t{i}a", "qname": f"{host}.blob.core.windows.net",
                  "answers": [ip]},
                 {"event": "connection", "action": "logged", "ts": f"t{i}b", "proto": "tcp", "dst": ip, "dport": 443}]
    (entry, _, note), = report.build([("r", recs)]).wildcard_suggestions()
    assert entry == "*.blob.core.windows.net:443" and note and "multi-tenant" in note


def test_cli_report_json_and_check(tmp_path: Path) -> None:
    runner = CliRunner()
    args = ["egress", "report", str(DATA / "run1.jsonl"), str(DATA / "run2.jsonl")]
    res = runner.invoke(cli, [*args, "--format", "json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["direct_ip"][0]["endpoint"] == "198.51.100.30:3333/tcp"
    good = tmp_path / "allow.txt"
    good.write_text("registry.npmjs.org:443\nregistry.npmjs.org:443/udp\n*.cdn.example\n198.51.100.30:3333\n")
    assert runner.invoke(cli, [*args, "--check", str(good)]).exit_code == 0
    bad = tmp_path / "narrow.txt"
    bad.write_text("registry.npmjs.org\n")
    res = runner.invoke(cli, [*args, "--check", str(bad)])
    assert res.exit_code == 1 and "a.cdn.example:443" in res.output
    broken = tmp_path / "broken.txt"
    broken.write_text("ok.example\nhost:70000\n")
    res = runner.invoke(cli, [*args, "--check", str(broken)])
    assert res.exit_code != 0 and "entry 1 'host:70000'" in res.output


def test_cli_bad_audit_line_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"event": "dns", "action": "logged"}\nnot json\n')
    res = CliRunner().invoke(cli, ["egress", "report", str(bad)])
    assert res.exit_code != 0 and f"{bad}:2" in res.output


def test_connection_logged_before_its_answer_in_the_same_millisecond() -> None:
    """Proxy and packet log write concurrently: a same-millisecond connection written before the
    answer it used must still be attributed to that answer, not to an older name of the address."""
    base = {"v": 1, "job": "build", "step": None, "mode": "audit"}
    recs = [
        {**base, "ts": "2026-01-01T00:00:00.100Z", "event": "dns", "action": "logged",
         "qname": "old.example", "answers": ["198.19.0.10"]},
        {**base, "ts": "2026-01-01T00:00:00.534Z", "event": "connection", "action": "logged",
         "proto": "tcp", "dst": "198.19.0.10", "dport": 80,
         "names": ["new.example", "old.example"]},
        {**base, "ts": "2026-01-01T00:00:00.534Z", "event": "dns", "action": "logged",
         "qname": "new.example", "answers": ["198.19.0.10"]},
    ]
    assert report.build([("run", recs)]).suggested() == ["new.example:80"]
