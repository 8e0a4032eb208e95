"""Allowlist entries: parsing, normalisation and matching.

The same grammar is used by the runner config, the job-level `egress:` key, harden-runner's
space-separated `allowed-endpoints` and `--allow`, so a user can move entries between them.
Every error names the entry and its index, because allowlists are long and copied around.

Grammar (see docs/egress.md):

    NAME[:PORTS][/PROTO]          example.com  *.example.com  abc*.example.com:8000-8099/udp
    IPV4[/LEN][:PORTS][/PROTO]    192.0.2.10:5432  10.20.0.0/16:5432
    [IPV6[/LEN]][:PORTS][/PROTO]  [2001:db8::1]:443   (a bare IPv6 address/CIDR means any port)

PORTS is a number, a range `lo-hi` or `*`. A name without ports means TCP 443 (harden-runner's
default); an address without ports means any port. PROTO is `tcp` (default) or `udp`.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence
from typing import Literal

from msgspec import Struct
from msgspec.structs import replace

Proto = Literal["tcp", "udp"]
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_RANGE = 1024  # wider ranges would bloat the nft sets; `:*` is the way to say "any port"
_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")


class AllowlistError(ValueError):
    """An entry cannot be parsed; the message names the entry, its index and its source."""

    def __init__(self, entry: str, index: int, why: str, source: str = "allowlist") -> None:
        self.entry, self.index, self.why, self.source = entry, index, why, source
        super().__init__(f"{source}: entry {index} {entry!r}: {why}")


class InvalidName(ValueError):
    """A DNS name that cannot be normalised (empty label, label over 63 chars, bad IDNA)."""


def normalize_name(name: str) -> str:
    """Lowercase, drop the trailing dot, IDNA-encode: the one form names are compared in."""
    text = name.strip()
    if text.endswith("."):
        text = text[:-1]
    if not text:
        raise InvalidName("empty name")
    labels = text.split(".")
    out: list[str] = []
    for label in labels:
        if not label:
            raise InvalidName(f"empty label in {name!r}")
        if label.isascii():
            label = label.lower()
        else:
            try:
                label = label.encode("idna").decode("ascii")
            except UnicodeError as exc:
                raise InvalidName(f"label {label!r} is not valid IDNA: {exc}") from None
        if len(label) > 63:
            raise InvalidName(f"label of {len(label)} characters (max 63) in {name!r}")
        out.append(label)
    result = ".".join(out)
    if len(result) > 253:
        raise InvalidName(f"name of {len(result)} characters (max 253)")
    return result


class Rule(Struct, frozen=True):
    """One parsed entry. `ports` None means any port."""

    text: str  # the entry as written
    index: int
    proto: Proto
    ports: tuple[int, int] | None
    name: str | None = None  # exact name, or the suffix below a wildcard
    wildcard: Literal["", "any", "label"] = ""  # "*.x" = any, "ab*.x" = label
    label_prefix: str = ""  # for "label": the part before '*'
    label_suffix: str = ""  # for "label": the part after '*'
    network: IPNetwork | None = None

    @property
    def canonical(self) -> str:
        """Normalised text; the report and `--check` compare these."""
        if self.network is not None:
            host = str(self.network)
            if self.network.num_addresses == 1:
                host = str(self.network.network_address)
            if self.network.version == 6:
                host = f"[{host}]"
        elif self.wildcard == "any":
            host = f"*.{self.name}"
        elif self.wildcard == "label":
            host = f"{self.label_prefix}*{self.label_suffix}.{self.name}"
        else:
            host = str(self.name)
        return host + format_ports(self.ports, self.proto, self.network is not None)

    def matches_name(self, qname: str) -> bool:
        """Whether the (normalised) name is covered, ignoring ports."""
        if self.name is None:
            return False
        if not self.wildcard:
            return qname == self.name
        if not qname.endswith("." + self.name):
            return False
        head = qname[: -len(self.name) - 1]
        if self.wildcard == "any":
            return bool(head)
        if "." in head:
            return False
        return (
            len(head) >= len(self.label_prefix) + len(self.label_suffix)
            and head.startswith(self.label_prefix)
            and head.endswith(self.label_suffix)
        )

    def matches_port(self, proto: str, port: int) -> bool:
        if proto != self.proto:
            return False
        return self.ports is None or self.ports[0] <= port <= self.ports[1]

    def matches_address(self, addr: str, proto: str, port: int) -> bool:
        if self.network is None:
            return False
        try:
            ip = ipaddress.ip_address(addr)
        except ValueError:
            return False
        return ip in self.network and self.matches_port(proto, port)


def format_ports(ports: tuple[int, int] | None, proto: Proto, is_address: bool) -> str:
    if ports is None:
        text = "" if is_address else ":*"
    elif ports[0] == ports[1]:
        text = f":{ports[0]}"
    else:
        text = f":{ports[0]}-{ports[1]}"
    return text + ("/udp" if proto == "udp" else "")


def _parse_ports(text: str) -> tuple[int, int] | None:
    if text == "*":
        return None
    lo_s, sep, hi_s = text.partition("-")
    if not lo_s.isdigit() or (sep and not hi_s.isdigit()):
        raise ValueError(f"port {text!r} is not a number, a range lo-hi or '*'")
    lo, hi = int(lo_s), int(hi_s) if sep else int(lo_s)
    for p in (lo, hi):
        if not 1 <= p <= 65535:
            raise ValueError(f"port {p} is outside 1-65535")
    if hi < lo:
        raise ValueError(f"port range {text!r} is reversed")
    if hi - lo + 1 > MAX_RANGE:
        raise ValueError(f"port range {text!r} is wider than {MAX_RANGE} ports; use ':*'")
    return (lo, hi)


def parse_entry(entry: str, index: int = 0, source: str = "allowlist") -> Rule:
    """Parse one entry; raises AllowlistError naming the entry and index."""
    try:
        return _parse(entry.strip())
    except (ValueError, InvalidName) as exc:
        raise AllowlistError(entry, index, str(exc), source) from None


def _parse(text: str) -> Rule:
    if not text:
        raise ValueError("empty entry")
    proto: Proto = "tcp"
    lowered = text.lower()
    for suffix in ("/tcp", "/udp"):
        if lowered.endswith(suffix):
            proto = "tcp" if suffix == "/tcp" else "udp"
            text = text[: -len(suffix)]
            break
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise ValueError("missing ']' after the IPv6 address")
        host, rest = text[1:end], text[end + 1 :]
        if rest and not rest.startswith(":"):
            raise ValueError(f"unexpected {rest!r} after ']'")
        ports = _parse_ports(rest[1:]) if rest else None
        return _address_rule(text, host, ports, proto)
    if text.count(":") >= 2:  # bare IPv6 address or CIDR, any port
        return _address_rule(text, text, None, proto)
    host, sep, port_text = text.partition(":")
    if sep and not port_text:
        raise ValueError("missing port after ':'")
    head = host.split("/", 1)[0]
    if _looks_like_ipv4(head):
        return _address_rule(text, host, _parse_ports(port_text) if sep else None, proto)
    ports = _parse_ports(port_text) if sep else (443, 443)
    return _name_rule(text, host, ports, proto)


def _looks_like_ipv4(text: str) -> bool:
    return bool(re.fullmatch(r"[0-9.]+", text)) and "." in text


def _address_rule(text: str, host: str, ports: tuple[int, int] | None, proto: Proto) -> Rule:
    try:
        network = ipaddress.ip_network(host, strict=True)
    except ValueError as exc:
        raise ValueError(f"not a valid IP address or CIDR: {exc}") from None
    return Rule(text=text, index=0, proto=proto, ports=ports, network=network)


def _name_rule(text: str, host: str, ports: tuple[int, int] | None, proto: Proto) -> Rule:
    if not host:
        raise ValueError("empty host name")
    if "*" not in host:
        name = normalize_name(host)
        _check_labels(name)
        return Rule(text=text, index=0, proto=proto, ports=ports, name=name)
    first, dot, rest = host.partition(".")
    if "*" in rest:
        raise ValueError("'*' is only allowed in the left-most label (as '*.x' or 'abc*.x')")
    if not dot or not rest:
        raise ValueError("a wildcard needs a domain below it ('*.example.com')")
    if first != "*":
        if first.count("*") > 1:
            raise ValueError("only one '*' is allowed in a label")
        if first.startswith("*"):
            raise ValueError("'*' must be the whole label or follow a prefix ('*.x' or 'abc*.x')")
    suffix = normalize_name(rest)
    _check_labels(suffix)
    if "." not in suffix:
        raise ValueError(f"wildcard over a top-level domain ({suffix!r}) is too broad")
    if first == "*":
        return Rule(text=text, index=0, proto=proto, ports=ports, name=suffix, wildcard="any")
    pre, _, post = first.lower().partition("*")
    for part in (pre, post):
        if part and not re.fullmatch(r"[a-z0-9_-]+", part):
            raise ValueError(f"invalid characters in wildcard label {first!r}")
    return Rule(
        text=text,
        index=0,
        proto=proto,
        ports=ports,
        name=suffix,
        wildcard="label",
        label_prefix=pre,
        label_suffix=post,
    )


def _check_labels(name: str) -> None:
    for label in name.split("."):
        if not _LABEL.match(label):
            raise ValueError(f"invalid label {label!r}")


def split_entries(text: str) -> list[str]:
    """Split harden-runner's `allowed-endpoints` (spaces/newlines) or a comma list."""
    return [t for t in re.split(r"[\s,]+", text) if t]


class Allowlist(Struct, frozen=True):
    rules: tuple[Rule, ...] = ()

    @classmethod
    def parse(cls, entries: Iterable[str], source: str = "allowlist") -> "Allowlist":
        rules = []
        for index, entry in enumerate(entries):
            if not isinstance(entry, str):
                raise AllowlistError(repr(entry), index, "entry is not a string", source)
            rule = parse_entry(entry, index, source)
            rules.append(replace(rule, index=index))  # keep the position for messages
        return cls(tuple(rules))

    def __add__(self, other: "Allowlist") -> "Allowlist":
        return Allowlist(self.rules + other.rules)

    def __bool__(self) -> bool:
        return bool(self.rules)

    def name_rules(self, qname: str) -> list[Rule]:
        """The rules whose name part covers qname (already normalised)."""
        return [r for r in self.rules if r.matches_name(qname)]

    def address_rules(self) -> list[Rule]:
        return [r for r in self.rules if r.network is not None]

    def allows_endpoint(self, name: str | None, addr: str | None, proto: str, port: int) -> bool:
        """Whether a connection to name/addr:port is justified; used by `report --check`."""
        if name is not None:
            for rule in self.name_rules(name):
                if rule.matches_port(proto, port):
                    return True
        if addr is not None:
            return any(r.matches_address(addr, proto, port) for r in self.rules)
        return False

    def canonical(self) -> list[str]:
        return [r.canonical for r in self.rules]


def load_file(path: str, entries_text: str) -> Allowlist:
    """An allowlist file: one entry per line, `#` comments, or a YAML list / `allow:` key."""
    stripped = [ln.split("#", 1)[0].strip() for ln in entries_text.splitlines()]
    if any(ln.startswith("- ") or ln.startswith("allow:") for ln in stripped):
        from ruamel.yaml import YAML
        from ruamel.yaml.error import YAMLError

        try:
            data = YAML(typ="safe").load(entries_text)
        except YAMLError as exc:
            raise AllowlistError(path, 0, f"not valid YAML: {exc}", path) from None
        if isinstance(data, dict):
            data = (data.get("egress") or data).get("allow", [])
        if not isinstance(data, list):
            raise AllowlistError(path, 0, "expected a list of entries or an 'allow:' list", path)
        return Allowlist.parse([str(x) if isinstance(x, int) else x for x in data], path)
    return Allowlist.parse([ln for ln in stripped if ln], path)


def merge(lists: Sequence[Allowlist]) -> Allowlist:
    out: list[Rule] = []
    seen: set[str] = set()
    for al in lists:
        for rule in al.rules:
            if rule.canonical not in seen:
                seen.add(rule.canonical)
                out.append(rule)
    return Allowlist(tuple(out))
