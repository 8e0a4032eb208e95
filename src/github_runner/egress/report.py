"""Audit logs -> allowlist report (`github-runner egress report`), and the job-summary section.

A connection becomes an endpoint `name:port[/udp]` through the DNS answer that explains its
address (the latest answer before it, in the same run); a connection no answer explains is a
direct-IP connection, listed apart because it deserves investigation, not an allowlist entry.
Names that were resolved but never connected to (docker resolving docker.io) are listed and not
suggested. Everything is sorted so the output is stable enough for golden tests and diffs.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from msgspec import Struct, field

from github_runner.egress.allowlist import Allowlist
from github_runner.egress.audit import parent_domain, read_records

MULTI_TENANT = (
    "blob.core.windows.net", "amazonaws.com", "s3.amazonaws.com", "githubusercontent.com",
    "storage.googleapis.com", "cloudfront.net", "azureedge.net", "r2.cloudflarestorage.com",
    "digitaloceanspaces.com", "appspot.com", "herokuapp.com", "vercel.app", "netlify.app",
)
HOST_DENY_REASONS = ("always-deny", "gateway port")
WILDCARD_MIN = 3


class Usage(Struct):
    connections: int = 0
    runs: set[str] = field(default_factory=set)
    steps: set[str] = field(default_factory=set)
    actions: set[str] = field(default_factory=set)

    def add(self, run: str, step: str | None, action: str) -> None:
        self.connections += 1
        self.runs.add(run)
        if step:
            self.steps.add(step)
        self.actions.add(action)


class Report(Struct):
    runs: list[str]
    endpoints: dict[str, Usage]  # name:port[/udp]
    direct: dict[str, Usage]  # ip:port/proto
    resolved_only: dict[str, Usage]
    dns_blocked: dict[str, Usage]
    redirected: dict[str, Usage]
    host_denied: dict[str, Usage]
    private: dict[str, Usage]
    other: dict[str, Usage]  # icmp and other protocols
    detections: list[dict[str, Any]]
    counts: dict[str, int]

    def wildcard_suggestions(self) -> list[tuple[str, list[str], str | None]]:
        groups: dict[tuple[str, str], set[str]] = defaultdict(set)
        for endpoint in self.endpoints:
            name, port = _split_endpoint(endpoint)
            labels = name.split(".")
            parent = ".".join(labels[1:])
            if len(labels) < 3 or len(parent.split(".")) < len(parent_domain(name).split(".")):
                continue  # never suggest a wildcard over a public suffix ("*.com", "*.co.uk")
            groups[(parent, port)].add(name)
        out = []
        for (parent, port), names in sorted(groups.items()):
            if len(names) >= WILDCARD_MIN:
                warn = next((s for s in MULTI_TENANT if parent == s or parent.endswith("." + s)), None)
                note = (f"{parent} is multi-tenant storage/hosting: a wildcard lets the job reach "
                        "other tenants' buckets") if warn else None
                out.append((f"*.{parent}{port}", sorted(names), note))
        return out

    def suggested(self) -> list[str]:
        return sorted(self.endpoints)

    def uncovered(self, allowlist: Allowlist) -> list[str]:
        """Endpoints (and refused names) the allowlist would not allow: the `--check` verdict."""
        missing = []
        for endpoint in self.endpoints:
            name, port = _split_endpoint(endpoint)
            proto = "udp" if port.endswith("/udp") else "tcp"
            if not allowlist.allows_endpoint(name, None, proto, int(port[1:].split("/")[0])):
                missing.append(endpoint)
        for endpoint in self.direct:
            addr, port_proto = endpoint.rsplit(":", 1)
            port, proto = port_proto.split("/")
            if not allowlist.allows_endpoint(None, addr.strip("[]"), proto, int(port)):
                missing.append(endpoint)
        for name in self.dns_blocked:
            if not allowlist.name_rules(name):
                missing.append(f"{name} (name refused by policy)")
        return sorted(set(missing))

    def to_json(self) -> dict[str, Any]:
        def table(d: dict[str, Usage]) -> list[dict[str, Any]]:
            return [{"endpoint": k, "connections": u.connections, "runs": len(u.runs),
                     "steps": sorted(u.steps), "actions": sorted(u.actions)} for k, u in sorted(d.items())]

        return {
            "runs": self.runs, "counts": self.counts, "suggested_allowlist": self.suggested(),
            "wildcard_suggestions": [{"entry": w, "names": n, "warning": note}
                                     for w, n, note in self.wildcard_suggestions()],
            "endpoints": table(self.endpoints), "direct_ip": table(self.direct),
            "resolved_only": table(self.resolved_only), "dns_refused": table(self.dns_blocked),
            "redirected_dns": table(self.redirected), "host_denied": table(self.host_denied),
            "private": table(self.private), "other_protocols": table(self.other),
            "detections": self.detections,
        }


def _split_endpoint(endpoint: str) -> tuple[str, str]:
    name, _, rest = endpoint.rpartition(":")
    return name, ":" + rest


def _step_name(rec: dict[str, Any]) -> str | None:
    step = rec.get("step")
    if isinstance(step, dict):
        return str(step.get("name") or step.get("id") or step.get("index"))
    return None


def build(runs: Sequence[tuple[str, list[dict[str, Any]]]]) -> Report:
    rep = Report([], {}, {}, {}, {}, {}, {}, {}, {}, [], defaultdict(int))
    for run_name, recs in runs:
        by_job: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in recs:
            by_job[str(r.get("job", ""))].append(r)
        for job, job_recs in sorted(by_job.items()):
            run = f"{run_name}#{job}" if len(by_job) > 1 else run_name
            rep.runs.append(run)
            _add_run(rep, run, sorted(job_recs, key=_order))
    rep.counts = dict(sorted(rep.counts.items()))
    rep.detections.sort(key=lambda d: (d.get("kind", ""), str(d.get("step", "")), str(d.get("what", ""))))
    return rep


def _order(r: dict[str, Any]) -> tuple[str, int]:
    """Time order, with DNS answers before connections in the same millisecond.

    Timestamps have millisecond resolution and the proxy and the packet log write concurrently,
    so a connection can be logged before the answer it used although it happened after it;
    attributing it to an older answer for the same address would name the wrong host.
    """
    return str(r.get("ts", "")), 0 if r.get("event") == "dns" else 1


def _add_run(rep: Report, run: str, recs: list[dict[str, Any]]) -> None:
    answers: list[tuple[str, str, str]] = []  # (ts, addr, name)
    connected_names: set[str] = set()
    resolved: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in recs:
        ev, action, step = r.get("event"), r.get("action"), _step_name(r)
        rep.counts[f"{ev}"] += 1
        if ev == "dns":
            qname = str(r.get("qname") or "")
            if action in ("allowed", "logged") and r.get("answers"):
                for addr in r["answers"]:
                    answers.append((str(r.get("ts", "")), addr, qname))
                resolved[qname].append(r)
            elif action in ("blocked", "refused") and qname:
                rep.dns_blocked.setdefault(qname, Usage()).add(run, step, action)
            elif action == "redirected":
                key = f"{r.get('resolver')}:{r.get('dport')}/{r.get('proto')}"
                rep.redirected.setdefault(key, Usage()).add(run, step, action)
        elif ev == "connection":
            _add_connection(rep, run, r, step, answers, connected_names)
        elif ev == "detection":
            what = r.get("qname") or (f"{r.get('dst')}:{r.get('dport')}" if r.get("dst") else r.get("cmdline", ""))
            rep.detections.append({"kind": r.get("kind"), "step": step, "what": what,
                                   "reasons": r.get("reasons", []), "run": run, "action": action})
    for qname, rs in resolved.items():
        if qname not in connected_names:
            for r in rs:
                rep.resolved_only.setdefault(qname, Usage()).add(run, _step_name(r), r.get("action", ""))


def _add_connection(rep: Report, run: str, r: dict[str, Any], step: str | None,
                    answers: list[tuple[str, str, str]], connected: set[str]) -> None:
    action = str(r.get("action"))
    dst, dport, proto = r.get("dst"), r.get("dport"), r.get("proto")
    host = f"[{dst}]" if dst and ":" in str(dst) else str(dst)
    if r.get("reason") in HOST_DENY_REASONS:
        rep.host_denied.setdefault(f"{host}:{dport}/{proto}", Usage()).add(run, step, action)
        return
    if proto not in ("tcp", "udp") or dport is None:
        rep.other.setdefault(f"{host} {proto} type {r.get('icmp_type')}", Usage()).add(run, step, action)
        return
    ts = str(r.get("ts", ""))
    name = None
    for a_ts, addr, qname in reversed(answers):
        if addr == dst and a_ts <= ts:
            name = qname
            break
    if name is None and r.get("names"):
        name = sorted(r["names"])[0]
    if r.get("private"):
        rep.private.setdefault(f"{host}:{dport}/{proto}", Usage()).add(run, step, action)
    if name is None:
        rep.direct.setdefault(f"{host}:{dport}/{proto}", Usage()).add(run, step, action)
        return
    connected.add(name)
    endpoint = f"{name}:{dport}" + ("/udp" if proto == "udp" else "")
    rep.endpoints.setdefault(endpoint, Usage()).add(run, step, action)


def load(paths: Iterable[Path]) -> Report:
    return build([(str(p), read_records(p)) for p in paths])


# --- rendering -------------------------------------------------------------------------------


def _steps(u: Usage) -> str:
    return ", ".join(sorted(u.steps)) or "-"


def render_markdown(rep: Report) -> str:
    n = len(rep.runs)
    out = ["# Egress report", "",
           f"{n} run{'s' if n != 1 else ''}: {', '.join(f'`{r}`' for r in rep.runs)}.", "",
           "## Suggested allowlist", "", "```yaml", "egress:", "  mode: block", "  allow:"]
    out += [f'    - "{e}"' if e.startswith("*") else f"    - {e}" for e in rep.suggested()] or ["    []"]
    out += ["```", "", "## Endpoints", "", "| endpoint | connections | runs | steps |", "|---|---|---|---|"]
    for e, u in sorted(rep.endpoints.items()):
        once = " (seen in one run only)" if n > 1 and len(u.runs) == 1 else ""
        out.append(f"| `{e}` | {u.connections} | {len(u.runs)} of {n}{once} | {_steps(u)} |")
    wild = rep.wildcard_suggestions()
    if wild:
        out += ["", "## Wildcard suggestions (not applied)", ""]
        for entry, names, note in wild:
            out.append(f"- `{entry}` covers {', '.join(f'`{x}`' for x in names)}")
            if note:
                out.append(f"  - warning: {note}")
    sections = [
        ("Connections to IPs that no DNS answer explains", rep.direct,
         "Hard-coded addresses, DNS over HTTPS or an out-of-band resolver: investigate before allowing."),
        ("Resolved but never connected (not suggested)", rep.resolved_only, None),
        ("Names refused by the policy", rep.dns_blocked, None),
        ("DNS queries sent to a hard-coded resolver (redirected to the proxy)", rep.redirected, None),
        ("Always-deny hits (metadata, runner host, gateway)", rep.host_denied, None),
        ("Private-range destinations", rep.private, None),
        ("Other protocols", rep.other, None),
    ]
    for title, table, note in sections:
        if not table:
            continue
        out += ["", f"## {title}", ""]
        if note:
            out += [note, ""]
        out += ["| destination | count | runs | steps |", "|---|---|---|---|"]
        out += [f"| `{k}` | {u.connections} | {len(u.runs)} | {_steps(u)} |" for k, u in sorted(table.items())]
    if rep.detections:
        out += ["", "## Detections", "", "| kind | step | what | reasons |", "|---|---|---|---|"]
        for d in rep.detections:
            what = str(d["what"])
            what = what if len(what) <= 64 else what[:61] + "..."
            out.append(f"| {d['kind']} | {d['step'] or '-'} | `{what}` | {'; '.join(d['reasons'])} |")
    return "\n".join(out) + "\n"


def render_json(rep: Report) -> str:
    return json.dumps(rep.to_json(), indent=2, sort_keys=True) + "\n"


def summary_markdown(records: list[dict[str, Any]], mode: str) -> str:
    """The job summary's egress section: what was allowed, what was blocked, what was detected."""
    rep = build([("this job", records)])
    blocked = {k: u for k, u in rep.endpoints.items() if "blocked" in u.actions}
    out = [f"### Egress ({mode} mode)", "", "| destination | result | connections | steps |", "|---|---|---|---|"]
    rows = []
    for e, u in rep.endpoints.items():
        rows.append((e, "blocked" if e in blocked else "allowed" if mode == "block" else "logged", u))
    for e, u in rep.direct.items():
        rows.append((f"{e} (direct IP)", "blocked" if "blocked" in u.actions else "logged", u))
    for e, u in rep.dns_blocked.items():
        rows.append((f"{e} (DNS)", "blocked", u))
    for e, u in rep.host_denied.items():
        rows.append((f"{e} (always-deny)", "blocked", u))
    for e, result, u in sorted(rows, key=lambda x: (x[1] != "blocked", x[0])):
        out.append(f"| `{e}` | {result} | {u.connections} | {_steps(u)} |")
    if len(out) == 4:
        out.append("| (no outbound traffic) | | | |")
    if rep.detections:
        out += ["", "| detection | step | what |", "|---|---|---|"]
        out += [f"| {d['kind']} | {d['step'] or '-'} | `{str(d['what'])[:64]}` |" for d in rep.detections]
    return "\n".join(out) + "\n"
