"""Workflow-command parsing and escaping edge cases (the runner's ActionCommand rules)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from github_runner.engine.commands.parsing import (
    CommandNames,
    Properties,
    escape_data,
    escape_property,
    escape_v1,
    parse_command,
    unescape_data,
    unescape_property,
)

NAMES = CommandNames(["warning", "set-output", "do"])


def test_unregistered_and_prefixed_lines_are_output() -> None:
    assert parse_command("::nope::x", NAMES) is None
    assert parse_command("x ::warning::y", NAMES) is None
    assert parse_command("::warning", NAMES) is None  # no closing '::'
    assert parse_command("", NAMES) is None
    assert parse_command("plain text", NAMES) is None


def test_names_are_case_insensitive_but_kept_as_written() -> None:
    cmd = parse_command("::WARNING FILE=a::m", NAMES)
    assert cmd is not None and cmd.command == "WARNING" and cmd.properties["file"] == "a"
    assert cmd.properties.as_dict() == {"FILE": "a"}


def test_property_split_follows_dotnet_remove_empty_entries() -> None:
    cmd = parse_command("::do a==1,=b,c=,,d=x=y, e = f ::", NAMES)
    assert cmd is not None
    assert cmd.properties.as_dict() == {"a": "1", "d": "x=y", " e ": " f"}


def test_v2_data_unescape_order_keeps_double_escapes() -> None:
    cmd = parse_command("::do::%250A%0A%25%3A%2C", NAMES)
    assert cmd is not None and cmd.data == "%0A\n%%3A%2C"  # data does not decode %3A/%2C


def test_v2_properties_decode_colon_and_comma() -> None:
    cmd = parse_command("::do k=a%3Ab%2Cc%25d::", NAMES)
    assert cmd is not None and cmd.properties["k"] == "a:b,c%d"


def test_v1_anywhere_and_semicolon_properties() -> None:
    cmd = parse_command("log: ##[do k=%5D%3B;x=1]da%5Dta", NAMES)
    assert cmd is not None and cmd.syntax == "v1"
    assert cmd.properties.as_dict() == {"k": "];", "x": "1"} and cmd.data == "da]ta"


def test_v2_is_tried_before_v1() -> None:
    cmd = parse_command("::do::##[warning]x", NAMES)
    assert cmd is not None and cmd.command == "do" and cmd.data == "##[warning]x"


def test_properties_mapping_is_case_insensitive() -> None:
    props = Properties([("Line", "1")])
    props["LINE"] = "2"
    assert dict(props) == {"Line": "2"} and "line" in props
    del props["line"]
    assert len(props) == 0


text = st.text(alphabet=st.sampled_from(list("ab%:,;]\r\n =0AD25")), max_size=30)


@settings(max_examples=300, deadline=None)
@given(data=text, value=text)
def test_toolkit_escaping_round_trips(data: str, value: str) -> None:
    line = f"::do k={escape_property(value)},z=1::{escape_data(data)}"  # z: trim only hits z
    cmd = parse_command(line, NAMES)
    assert cmd is not None and cmd.data == data
    if value and not value.startswith("="):  # the runner drops empty values and leading '='
        assert cmd.properties.get("k") == value


@settings(max_examples=200, deadline=None)
@given(data=text)
def test_v1_escaping_round_trips(data: str) -> None:
    cmd = parse_command(f"##[do]{escape_v1(data)}", NAMES)
    assert cmd is not None and cmd.data == data


def test_unescape_helpers() -> None:
    assert unescape_data("%0D%0A%25") == "\r\n%"
    assert unescape_property("%3A%2C") == ":,"
