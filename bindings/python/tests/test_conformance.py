"""The Python runner of the conformance cases (bindings/embed/conformance/server_options.txt):
each option is a keyword argument of ``Server`` (durations in seconds), and the result must be
the case's; a refusal (``ValueError`` or ``TypeError``) must name the option."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import rtmp_rs

CASES = Path(__file__).resolve().parents[2] / "embed" / "conformance" / "server_options.txt"


def python_value(text: str) -> Any:
    """The case's value as Python gives it."""
    if text == "none":
        return None
    if text == "inf":
        return float("inf")
    if text in ("true", "false"):
        return text == "true"
    if text.startswith('"'):
        return text.strip('"')
    if text.startswith("["):
        return [item.strip() for item in text.strip("[]").split(",")]
    duration = re.fullmatch(r"(-?[0-9.]+)(ms|s)", text)
    if duration:
        return float(duration[1]) / (1000 if duration[2] == "ms" else 1)
    return float(text) if "." in text else int(text)


def cases() -> list[tuple[str, str, str]]:
    lines = CASES.read_text().splitlines()
    return [tuple(line.split("\t")) for line in lines if line and not line.startswith("#")]  # type: ignore[misc]


def test_the_cases_are_there() -> None:
    assert len(cases()) >= 50


@pytest.mark.parametrize(("name", "value", "expected"), cases())
def test_case(name: str, value: str, expected: str) -> None:
    options: dict[str, Any] = {"bind": "127.0.0.1:0", name: python_value(value)}
    if expected == "ok":
        rtmp_rs.Server(**options).close()
    else:
        with pytest.raises((ValueError, TypeError), match=f"^{name} "):
            rtmp_rs.Server(**options)
