"""The Python runner of the conformance cases (bindings/embed/conformance/cases.txt): options
as keyword arguments of ``Server`` (durations in seconds), decisions as an ``on_publish`` hook;
each result must be the case's, and a refused option's message must name it."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest

import rtmp_rs

CASES = Path(__file__).resolve().parents[2] / "embed" / "conformance" / "cases.txt"


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


def cases(kind: str) -> list[list[str]]:
    lines = CASES.read_text().splitlines()
    rows = [line.split("\t") for line in lines if line and not line.startswith("#")]
    return [row[1:] for row in rows if row[0] == kind]


def test_the_cases_are_there() -> None:
    assert len(cases("option")) >= 50 and len(cases("client_option")) >= 10 and len(cases("decision")) == 6


@pytest.mark.parametrize(("name", "value", "expected"), cases("option"))
def test_option(name: str, value: str, expected: str) -> None:
    options: dict[str, Any] = {"bind": "127.0.0.1:0", name: python_value(value)}
    if expected == "ok":
        rtmp_rs.Server(**options).close()
    else:
        with pytest.raises((ValueError, TypeError), match=f"^{name} "):
            rtmp_rs.Server(**options)


@pytest.mark.parametrize(("name", "value", "expected"), cases("client_option"))
def test_client_option(name: str, value: str, expected: str) -> None:
    # Nothing listens on port 1: an accepted option ends in a connection error.
    options: dict[str, Any] = {name: python_value(value)}
    if expected == "ok":
        with pytest.raises(rtmp_rs.RtmpError) as failed:
            rtmp_rs.Player("rtmp://127.0.0.1:1/live/cam", **options)
        assert not isinstance(failed.value, (ValueError, TypeError))
    else:
        with pytest.raises((ValueError, TypeError), match=f"^{name} "):
            rtmp_rs.Player("rtmp://127.0.0.1:1/live/cam", **options)


class Outcomes(rtmp_rs.Handler):
    """``on_publish`` does what the stream's name says."""

    async def on_publish(self, session: rtmp_rs.Session, params: rtmp_rs.PublishParams) -> bool:
        outcome = params.name
        if outcome == "reject":
            raise rtmp_rs.Reject("Not you.")
        if outcome == "fail":
            raise RuntimeError("the hook failed")
        if outcome == "answer_in_time":
            await asyncio.sleep(0.1)
        elif outcome == "answer_late":
            await asyncio.sleep(0.8)
        elif outcome == "no_answer":
            await asyncio.Event().wait()
        return True


@pytest.mark.parametrize(("outcome", "expected"), cases("decision"))
async def test_decision(outcome: str, expected: str) -> None:
    async with rtmp_rs.Server(Outcomes(), bind="127.0.0.1:0", decision_timeout=0.4) as server:
        url = f"{server.url}/live/{outcome}"
        if expected == "accepted":
            publisher = await rtmp_rs.Publisher.connect(url)
            await publisher.close_async()
        else:
            with pytest.raises(rtmp_rs.RejectedError) as refused:
                await rtmp_rs.Publisher.connect(url)
            if outcome == "reject":
                assert refused.value.description == "Not you."
