"""config.toml loading (interpolation, unknown keys with their path) and the 0600 state dir."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from github_runner.config.loader import ConfigError, load, parse
from github_runner.config.state import StateDir, StateError, write_private


def test_interpolation_and_escapes(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[runner]\nurl = "https://github.com/${ORG}/r"\nlabels = "a, b"\n'
                   'name = "cost$$"\n[http]\nca_bundle = "ca.pem"\n')
    s = load(cfg, env={"ORG": "octo"})
    assert s.runner.url == "https://github.com/octo/r" and s.runner.labels == ["a", "b"]
    assert s.runner.name == "cost$" and s.http.ca_bundle == tmp_path / "ca.pem"


@pytest.mark.parametrize("data,where", [
    ({"runner": {"lables": ["x"]}}, "runner.lables: unknown key"),
    ({"http": {"max_retries": -1}}, "http.max_retries:"),
    ({"runner": {"labels": ["${NOPE}"]}}, "runner.labels[0]: environment variable NOPE"),
    ({"bogus": 1}, "bogus: unknown key"),
    ({"log": {"format": "xml"}}, "log.format:"),
])
def test_errors_name_the_key(data: dict, where: str) -> None:
    with pytest.raises(ConfigError) as exc:
        parse(data, source="cfg.toml", env={})
    assert str(exc.value).startswith("cfg.toml: ") and where in str(exc.value)


def test_unreadable_and_invalid_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load(tmp_path / "missing.toml", env={})
    bad = tmp_path / "bad.toml"
    bad.write_text("[runner\n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load(bad, env={})


def test_private_files_are_0600_from_the_start(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        write_private(tmp_path / "s" / "k", b"secret")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "s" / "k").stat().st_mode) == 0o600
    assert [p.name for p in (tmp_path / "s").iterdir()] == ["k"]  # no temp file left


def test_staging_is_all_or_nothing(tmp_path: Path) -> None:
    state = StateDir(tmp_path / "st")
    runner = {"agentId": 1, "agentName": "a", "poolId": 1, "serverUrl": "https://s/",
              "gitHubUrl": "https://g/o/r"}
    creds = {"scheme": "OAuth", "data": {"clientId": "c", "authorizationUrl": "https://a"}}
    with pytest.raises(RuntimeError):
        with state.staging() as stage:
            state.write_identity(stage / "a", runner, creds, {"modulus": "AQAB"})
            raise RuntimeError("registration failed half-way")
    assert state.identities() == [] and list(state.runners.iterdir()) == []
    with state.staging() as stage:
        state.write_identity(stage / "a", runner, creds, {"modulus": "AQAB"})
        state.commit({"a": stage / "a"})
    assert [i.name for i in state.identities()] == ["a"]
    assert stat.S_IMODE(state.root.stat().st_mode) == 0o700
    (state.runners / "a" / ".credentials").unlink()
    with pytest.raises(StateError, match="missing .credentials"):
        state.identities()


def test_plain_settings_survive_the_exec_unchanged(tmp_path: Path) -> None:
    """What the listener process gets (through JSON) is what the config said, nothing less."""
    import json

    from github_runner.config.plain import PlainSettings

    cfg = tmp_path / "c.toml"
    cfg.write_text('[runner]\nwork_dir = "/srv/w"\n[http]\nca_bundle = "ca.pem"\nproxy = '
                   '"http://127.0.0.1:3128"\nno_proxy = ["a"]\nmax_retries = 2\n'
                   '[listener]\npoll_timeout = 7\n[log]\nformat = "json"\n')
    s = load(cfg, env={})
    plain = PlainSettings.from_wire(json.loads(json.dumps(PlainSettings.from_settings(s).to_wire())))
    assert plain.http_settings() == s.http_settings()
    assert plain.http_settings().ca_bundle == tmp_path / "ca.pem"
    assert plain.work_dir_override == Path("/srv/w")
    assert plain.listener.poll_timeout == 7.0 and plain.log.format == "json"
    assert plain.data == s.model_dump(mode="json")  # what workers re-validate
    unset = PlainSettings.from_wire(PlainSettings.from_settings(parse({}, env={})).to_wire())
    assert unset.work_dir_override is None  # registration's work folder applies then
