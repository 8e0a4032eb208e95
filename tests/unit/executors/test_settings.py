"""The [executor] config section: validation at load time, and kwargs each backend accepts."""

from __future__ import annotations

import inspect

import pytest
from pydantic import ValidationError

from github_runner.executors.settings import ExecutorSettings


def test_defaults_and_shorthand() -> None:
    assert ExecutorSettings().name == "sandbox"
    assert ExecutorSettings.model_validate("docker").name == "docker"


@pytest.mark.parametrize(
    ("data", "where"),
    [
        ({"name": "vm"}, "name"),
        ({"limits": {"memory": "lots"}}, "limits.memory"),
        ({"limits": {"pids": 2}}, "limits.pids"),
        ({"docker": {"volumes": ["/etc:/e"]}}, "/etc is refused"),
        ({"docker": {"volumes": ["rel/x:/e"]}}, "relative path"),
        ({"docker": {"bogus": 1}}, "bogus"),
        ({"sandbox": {"ro_binds": ["opt"]}}, "absolute"),
        ({"nmae": "shell"}, "nmae"),
    ],
)
def test_bad_settings_name_the_key(data: dict[str, object], where: str) -> None:
    with pytest.raises(ValidationError, match=where.replace(".", r"\.")):
        ExecutorSettings.model_validate(data)


@pytest.mark.parametrize("name", ["shell", "sandbox", "docker", "gvisor"])
def test_backend_kwargs_match_each_constructor(name: str) -> None:
    from github_runner.executors import BACKENDS
    import importlib

    mod, attr = BACKENDS[name].split(":")
    cls = getattr(importlib.import_module(mod), attr)
    params = set(inspect.signature(cls.__init__).parameters) - {"self"}
    if name == "gvisor":
        params |= set(inspect.signature(cls.__mro__[1].__init__).parameters) - {"self", "settings"}
    s = ExecutorSettings.model_validate({"name": name, "docker": {"allowed_images": ["x:*"]},
                                         "limits": {"memory": "1g"}})
    assert set(s.backend_kwargs()) <= params
