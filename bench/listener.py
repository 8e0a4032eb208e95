"""Listener figures against the fake GitHub on loopback, each next to a baseline from the same run.

    uv run python bench/listener.py [--jobs 10]

- idle RSS of `github-runner run` with 1 and 8 slots (targets: <= 45 MB, <= 60 MB), and with 1
  slot again after the latency jobs; baseline: a bare interpreter, and one that imports just
  httpx + cryptography + pydantic; plus the RSS growth of each import step of a listener;
- CPU of the idle listener while long-polling (fake holds each poll 5 s, as a real broker would
  hold it ~50 s, so this over-states the real poll rate tenfold);
- end-to-end latency from the message leaving the fake to the job's first step starting
  (target <= 150 ms); baseline: starting a bare interpreter.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.fakegithub import FakeGitHub  # noqa: E402
from tests.fakegithub.jobs import JobDef, Step  # noqa: E402

# What an idle listener holds, step by step (each step's RSS growth is printed): the floor
# below which only replacing httpx/anyio/cryptography would go (docs/protocol.md, "Idle memory").
IMPORT_STEPS = (
    ("asyncio, json, logging, ssl (libssl/libcrypto mapped)", "import asyncio, json, logging, ssl"),
    ("httpx (+ httpcore, h11, email, http.cookiejar, urllib.request)",
     "sys.modules['httpx._main'] = None; import httpx, httpcore"),
    ("anyio's asyncio backend (httpcore's locks, first request)", "import anyio._backends._asyncio"),
    ("cryptography RSA (PS256 assertion, v1 session key)",
     "from cryptography.hazmat.primitives.asymmetric import rsa, padding; "
     "from cryptography.hazmat.primitives import hashes"),
    ("github_runner listener modules", "import github_runner.listener.process, "
     "github_runner.listener.service, github_runner.listener.memory"),
    ("pydantic + Settings (validation only: left behind by the exec)",
     "import github_runner.config.loader"),
    ("click (command line only: left behind by the exec)", "import click"),
)

BASE_IMPORTS = ("import sys; sys.modules['httpx._main'] = None; import httpx, pydantic; "
                "from cryptography.hazmat.primitives.asymmetric import rsa; "
                "import time; time.sleep(30)")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(x) for x in out.split()]


def baseline_rss(code: str) -> float:
    p = subprocess.Popen([sys.executable, "-c", code])
    time.sleep(1.5)
    value = rss_mb(p.pid)
    p.kill()
    p.wait()
    return value


def import_steps() -> list[tuple[str, float]]:
    code = ("import sys, json\n"
            "def rss():\n"
            "    for l in open('/proc/self/status'):\n"
            "        if l.startswith('VmRSS:'): return int(l.split()[1]) / 1024\n"
            "out = [('interpreter (+ json)', rss())]\n")
    for label, stmt in IMPORT_STEPS:
        code += f"{stmt}\nout.append(({label!r}, rss()))\n"
    code += "print(json.dumps(out))\n"
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env=env).stdout
    return [(str(a), float(b)) for a, b in json.loads(out)]


def interpreter_start_ms() -> float:
    samples = []
    for _ in range(5):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        samples.append((time.perf_counter() - t) * 1000)
    return statistics.median(samples)


class Setup:
    def __init__(self, root: Path, slots: int, fake: FakeGitHub) -> None:
        self.root, self.fake = root, fake
        work = Path(tempfile.mkdtemp(prefix="ghr-bench-work-"))
        work.chmod(0o711)
        self.work = work
        user = 'user = "ghr-job"' if subprocess.run(["id", "ghr-job"], capture_output=True).returncode == 0 \
            else "allow_root = true"
        (root / "config.toml").write_text(f"""
[runner]
state_dir = "state"
work_dir = "{work}"
[http]
ca_bundle = "{fake.ca.ca_pem}"
[listener]
renew_interval = 60
[executor]
name = "shell"
{user}
""")
        self.env = {**os.environ, "GITHUB_RUNNER_CONFIG": str(root / "config.toml"),
                    "PYTHONPATH": str(REPO / "src"),
                    "GITHUB_RUNNER_TIMING_FILE": str(root / "timing.json")}
        subprocess.run([sys.executable, "-m", "github_runner", "register", "--url", fake.repo_url,
                        "--token", fake.registration_token(), "--name", "bench",
                        "--concurrency", str(slots)], env=self.env, check=True, cwd=root,
                       capture_output=True)
        self.proc = subprocess.Popen([sys.executable, "-m", "github_runner", "run"], env=self.env,
                                     cwd=root, stdout=subprocess.DEVNULL,
                                     stderr=open(root / "run.log", "w"))
        fake.wait(lambda: len(fake.live_sessions()) == slots, 60, f"{slots} sessions")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)
        subprocess.run(["rm", "-rf", str(self.work)])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=10)
    ap.add_argument("--idle-seconds", type=float, default=10.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        fake = FakeGitHub(Path(tmp), mode="v2", poll_hold=5.0).start()
        try:
            base_bare = baseline_rss("import time; time.sleep(30)")
            base_libs = baseline_rss(BASE_IMPORTS)
            print(f"baseline RSS: bare python {base_bare:.1f} MB; "
                  f"python + httpx + cryptography + pydantic {base_libs:.1f} MB")
            prev = 0.0
            for label, value in import_steps():
                print(f"  import step: {value:5.1f} MB ({value - prev:+.1f}) {label}")
                prev = value
            for slots in (1, 8):
                root = Path(tmp) / f"r{slots}"
                root.mkdir()
                s = Setup(root, slots, fake)
                try:
                    time.sleep(3)
                    rss = rss_mb(s.proc.pid)
                    kids = children(s.proc.pid)
                    kids_rss = sum(rss_mb(k) for k in kids)
                    c0, t0 = cpu_seconds(s.proc.pid), time.monotonic()
                    time.sleep(args.idle_seconds)
                    cpu = (cpu_seconds(s.proc.pid) - c0) / (time.monotonic() - t0) * 100
                    target = 45 if slots == 1 else 60
                    print(f"idle listener, {slots} slot(s): RSS {rss:.1f} MB (target <= {target}; "
                          f"+{rss - base_libs:.1f} MB over the library baseline); plus {len(kids)} warm "
                          f"worker process(es) {kids_rss:.1f} MB (listener.warm_workers); CPU "
                          f"{cpu:.2f}% of one core while long-polling")
                    if slots == 1:
                        latency(s, fake, args.jobs)
                        time.sleep(3)
                        print(f"idle listener, 1 slot, after {args.jobs} jobs: RSS "
                              f"{rss_mb(s.proc.pid):.1f} MB")
                finally:
                    s.stop()
        finally:
            fake.stop()


def latency(s: Setup, fake: FakeGitHub, jobs: int) -> None:
    timing = s.root / "timing.json"
    samples = []
    for _ in range(jobs):
        timing.unlink(missing_ok=True)
        job = fake.queue_job(JobDef(steps=[Step(run="true", name="first")]))
        if not job.done.wait(60):
            raise SystemExit("bench job did not complete: see " + str(s.root / "run.log"))
        first = json.loads(timing.read_text())["first_step_wall"]
        delivered = fake.call(lambda: job.assigned_at)
        samples.append((first - delivered) * 1000)
        time.sleep(2.5)  # an idle runner: the next warm worker is ready before the next job
    samples.sort()
    start = interpreter_start_ms()
    print(f"message -> first step start over {jobs} jobs: median {statistics.median(samples):.0f} ms, "
          f"min {samples[0]:.0f} ms, max {samples[-1]:.0f} ms (target <= 150 ms); "
          f"baseline: bare interpreter start {start:.0f} ms")


if __name__ == "__main__":
    main()
