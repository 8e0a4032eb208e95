"""Job images built on this host, because no image registry is reachable: tagged by a hash of
everything that goes into them, so a rebuild happens only when an input changes.

* `ghr-busybox:<hash>`: a 2 MB static busybox root (tests, service stand-ins). `/tmp` is 1777 in
  the rootfs itself: Docker copies the image directory's mode onto a tmpfs mounted there.
* `ghr-debian:<hash>`: `debootstrap --variant=minbase` from the mirror apt uses (bash, coreutils,
  python3), the default image for jobs without `container:` on the docker/gvisor executors.

Run `python -m github_runner.executors.images [busybox|debian|all]` to build (CI does, in
`.ci/setup.d/20-images.sh`).
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from github_runner.executors.errors import ExecutorError

RECIPE = "2"  # bump when the recipes below change
BUSYBOX = Path("/bin/busybox")
APPLETS = (
    "sh ash echo true false cat ls id env sleep nc printf test [ mkdir rm touch grep cut tail "
    "head wc kill ps mount umount insmod unshare chmod cp mv sed awk tr seq uname hostname dd find "
    "xargs sort uniq basename dirname readlink ln pwd stat date expr"
).split()
DEBIAN_SUITE = "bookworm"
DEBIAN_INCLUDE = ("python3-minimal", "procps")
LABEL = "ghr.image"


def _sha(*parts: bytes) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(hashlib.sha256(p).digest())
    return h.hexdigest()[:16]


def apt_mirror() -> str:
    """The Debian mirror apt uses on this host (deb822 or one-line format)."""
    for f in [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]:
        try:
            text = f.read_text()
        except OSError:
            continue
        for line in text.splitlines():
            words = line.split()
            if words[:1] == ["URIs:"] and words[1:] and words[1].rstrip("/").endswith("/debian"):
                return words[1]
            if words[:1] == ["deb"] and len(words) > 2:
                uri = next((w for w in words[1:] if w.startswith("http")), "")
                if uri.rstrip("/").endswith("/debian"):
                    return uri
    return "http://deb.debian.org/debian"


def busybox_ref() -> str:
    if not BUSYBOX.exists():
        raise ExecutorError(f"{BUSYBOX} not found: install busybox-static")
    return f"ghr-busybox:{_sha(RECIPE.encode(), BUSYBOX.read_bytes(), ' '.join(APPLETS).encode())}"


def debian_ref() -> str:
    key = "\0".join([RECIPE, DEBIAN_SUITE, apt_mirror(), *DEBIAN_INCLUDE]).encode()
    return f"ghr-debian:{_sha(key)}"


def _exists(ref: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", ref], capture_output=True).returncode == 0


def _import(rootfs_tar: bytes | Path, ref: str) -> None:
    data = rootfs_tar.read_bytes() if isinstance(rootfs_tar, Path) else rootfs_tar
    proc = subprocess.run(
        ["docker", "import", "--change", f"LABEL {LABEL}={ref}", "-", ref],
        input=data, capture_output=True,
    )
    if proc.returncode != 0:
        raise ExecutorError(f"docker import of {ref} failed: {proc.stderr.decode().strip()}")


def _busybox_tar() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        def add_dir(name: str, mode: int = 0o755) -> None:
            info = tarfile.TarInfo(name)
            info.type, info.mode = tarfile.DIRTYPE, mode
            tar.addfile(info)

        for d in ("bin", "etc", "proc", "sys", "dev", "home", "run", "var", "usr", "usr/bin"):
            add_dir(d)
        add_dir("tmp", 0o1777)
        add_dir("var/tmp", 0o1777)
        info = tarfile.TarInfo("bin/busybox")
        info.mode, info.size = 0o755, BUSYBOX.stat().st_size
        with BUSYBOX.open("rb") as f:
            tar.addfile(info, f)
        for a in APPLETS:
            link = tarfile.TarInfo(f"bin/{a}")
            link.type, link.linkname = tarfile.SYMTYPE, "busybox"
            tar.addfile(link)
        env = tarfile.TarInfo("usr/bin/env")
        env.type, env.linkname = tarfile.SYMTYPE, "../../bin/busybox"
        tar.addfile(env)
        for name, text in (
            ("etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n"),
            ("etc/group", "root:x:0:\nnogroup:x:65534:\n"),
        ):
            data = text.encode()
            f_info = tarfile.TarInfo(name)
            f_info.size = len(data)
            tar.addfile(f_info, io.BytesIO(data))
    return buf.getvalue()


def build_busybox() -> str:
    ref = busybox_ref()
    if not _exists(ref):
        _import(_busybox_tar(), ref)
    return ref


def build_debian() -> str:
    """debootstrap minbase (~25 s, ~200 MB, needs the Debian mirror); cached by tag."""
    ref = debian_ref()
    if _exists(ref):
        return ref
    if shutil.which("debootstrap") is None:
        raise ExecutorError("debootstrap not found: apt-get install debootstrap")
    with tempfile.TemporaryDirectory(prefix="ghr-rootfs-") as d:
        root = Path(d) / "root"
        cmd = ["debootstrap", "--variant=minbase", f"--include={','.join(DEBIAN_INCLUDE)}",
               DEBIAN_SUITE, str(root), apt_mirror()]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise ExecutorError(f"debootstrap failed ({' '.join(cmd)}): {proc.stdout[-2000:]}{proc.stderr[-2000:]}")
        shutil.rmtree(root / "var/cache/apt/archives", ignore_errors=True)
        (root / "var/cache/apt/archives/partial").mkdir(parents=True, exist_ok=True)
        os.chmod(root / "tmp", 0o1777)
        tar_path = Path(d) / "rootfs.tar"
        subprocess.run(["tar", "-C", str(root), "--numeric-owner", "-cf", str(tar_path), "."], check=True)
        _import(tar_path, ref)
    return ref


def prune(keep: set[str]) -> None:
    """Remove our images of older recipes/inputs (same repository, other hash)."""
    out = subprocess.run(["docker", "images", "--filter", f"label={LABEL}", "--format",
                          "{{.Repository}}:{{.Tag}}"], capture_output=True, text=True).stdout.split()
    repos = {k.split(":")[0] for k in keep}
    stale = [ref for ref in out if ref.split(":")[0] in repos and ref not in keep]
    if stale:
        subprocess.run(["docker", "rmi", *stale], capture_output=True)


def main(argv: list[str]) -> int:
    what = argv[0] if argv else "all"
    built = set()
    if what in ("busybox", "all"):
        built.add(build_busybox())
    if what in ("debian", "all"):
        built.add(build_debian())
    prune(built)
    print("\n".join(sorted(built)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
