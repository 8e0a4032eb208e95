"""The escape attempts every executor must block, as one POSIX sh script (runs on busybox too).

Each attempt prints `blocked NAME` or `ESCAPED NAME`; tests run it inside a job and assert that
every attempt they expect to be blocked is. Inputs come in the environment:
STATE_FILE (a runner credential file), OTHER_FILE (a file in another job's workspace),
RUNNER_PID (a runner process, host pid), SUID_BB (a setuid-root static busybox, if shown).
This kernel has no module support at all (insmod: ENOSYS even for root), so `load-module` checks
for CAP_SYS_MODULE in the effective set, which is what loading needs on any kernel.
"""

from __future__ import annotations

ESCAPE_SCRIPT = r"""
esc() { n=$1; shift; if "$@" >/dev/null 2>&1; then echo "ESCAPED $n"; else echo "blocked $n"; fi; }
esc read-state cat "$STATE_FILE"
esc read-other-workspace cat "$OTHER_FILE"
esc signal-runner kill -0 "$RUNNER_PID"
esc ptrace-runner cat "/proc/$RUNNER_PID/environ"
esc see-host-processes sh -c 'for f in /proc/[0-9]*/cmdline; do grep -q "py[t]est" "$f" 2>/dev/null && exit 0; done; exit 1'
esc write-usr touch /usr/ghr-escape
esc write-etc touch /etc/ghr-escape
esc mount sh -c 'd=$(mktemp -d) || exit 1; mount -t tmpfs none "$d"; r=$?; rmdir "$d"; exit $r'
esc load-module sh -c 'e=$(grep CapEff /proc/self/status | cut -f2); [ $(( 0x$e >> 16 & 1 )) = 1 ]'
esc docker-socket sh -c 'test -w /var/run/docker.sock || test -w /run/docker.sock'
esc setuid sh -c 'test -n "$SUID_BB" && test "$("$SUID_BB" id -u)" = 0'
esc new-userns sh -c 'unshare -r true'
echo done-escapes
"""

ALL = (
    "read-state", "read-other-workspace", "signal-runner", "ptrace-runner", "see-host-processes",
    "write-usr", "write-etc", "mount", "load-module", "docker-socket", "setuid", "new-userns",
)


def parse(output: str) -> dict[str, str]:
    """NAME -> 'blocked' | 'ESCAPED'; fails loudly if the script did not run to the end."""
    assert "done-escapes" in output, output
    result: dict[str, str] = {}
    for line in output.splitlines():
        verdict, _, name = line.partition(" ")
        if verdict in ("blocked", "ESCAPED"):
            result[name] = verdict
    assert set(result) == set(ALL), output
    return result
