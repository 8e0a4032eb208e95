"""Job and step identifiers: GitHub's validity rule and its generated step ids.

Generated ids (`__run`, `__actions_checkout`, `__run_2`) matter beyond display: they are the
names under which `steps.<id>` results are kept, so they must not collide with written ids.
"""

from __future__ import annotations

MAX_LENGTH = 100


def _alpha(c: str) -> bool:
    return ("a" <= c <= "z") or ("A" <= c <= "Z")


def _legal(c: str) -> bool:
    return _alpha(c) or ("0" <= c <= "9") or c in "_-"


def invalid_id_message(value: str) -> str | None:
    """GitHub's error for an id written in the file, or None when it is acceptable."""
    valid = (
        bool(value) and (_alpha(value[0]) or value[0] == "_") and all(_legal(c) for c in value[1:])
    )
    if not valid or len(value) >= MAX_LENGTH:
        return (
            f"The identifier '{value}' is invalid. IDs may only contain alphanumeric characters, "
            "'_', and '-'. IDs must start with a letter or '_' and and must be less than "
            f"{MAX_LENGTH} characters."
        )
    if value.startswith("__"):
        return f"The identifier '{value}' is invalid. IDs starting with '__' are reserved."
    return None


class IdScope:
    """The ids of one scope (the steps of a job): written ones first, then generated ones."""

    def __init__(self) -> None:
        self._taken: set[str] = set()

    def add_known(self, value: str) -> str | None:
        error = invalid_id_message(value)
        if error:
            return error
        if value.upper() in self._taken:
            return f"The identifier '{value}' may not be used more than once within the same scope."
        self._taken.add(value.upper())
        return None

    def generate(self, segment: str) -> str:
        chars: list[str] = []
        if segment:
            if not (_alpha(segment[0]) or segment[0] == "_") and (
                segment[0].isdigit() or segment[0] == "-"
            ):
                chars.append("_")
            chars.extend(c if _legal(c) else "_" for c in segment)
        base = "".join(chars) or "job"
        for attempt in range(1, 1000):
            suffix = "" if attempt == 1 else f"_{attempt}"
            candidate = base[: MAX_LENGTH - len(suffix)] + suffix
            if candidate.upper() not in self._taken:
                self._taken.add(candidate.upper())
                return candidate
        raise ValueError("Unable to create a unique name")


def action_segment(uses: str) -> str:
    """The part of a `uses:` value a generated step id is built from."""
    if uses.startswith("docker://"):
        return uses[len("docker://") :]
    if uses.startswith(("./", ".\\", "$/")):
        return "self"
    parts = uses.split("@")
    if len(parts) != 2:
        return ""
    path = [p for p in parts[0].replace("\\", "/").split("/") if p]
    if len(path) >= 2 and parts[1]:
        return f"{path[0]}/{path[1]}"
    return ""
