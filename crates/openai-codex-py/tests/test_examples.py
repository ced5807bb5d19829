"""The examples (written from the official SDK's API reference) run unchanged against the real
runtime and the scripted model: `Codex()` with no config finds the bundled runtime, and
`CODEX_HOME` points that runtime at the scripted model."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
ANSWER = "Scripted answer."

# What each example must print (besides exiting 0).
EXPECT = {
    "quickstart": [ANSWER],
    "async_quickstart": [ANSWER],
    "streaming": [ANSWER, "status: completed"],
    "async_streaming": [ANSWER + "\n" + ANSWER],
    "steer_interrupt": ["steered: completed", "interrupted: interrupted"],
    "images": [ANSWER],
    "threads": ["name: numbers", "turns: 1", "listed: True", "fork answers: " + ANSWER,
                "unarchived answers: " + ANSWER, "resumed: True"],
    "models": [ANSWER],
    "logins": ["account: None", "open: https://", "cancel: canceled", "completed: False"],
    "approvals": ["deny_all: " + ANSWER, "auto_review: " + ANSWER],
    "retry": [ANSWER, "typed error: InvalidRequestError True -32600", "retryable: False"],
    "structured_output": ["{'city': 'Paris', 'country': 'France'}"],
    "turn_result": ["status: completed", "items: ['userMessage', 'agentMessage']", "final: " + ANSWER],
}


def test_every_example_is_checked():
    assert sorted(p.stem for p in EXAMPLES.glob("*.py")) == sorted(EXPECT)


@pytest.mark.parametrize("name", sorted(EXPECT))
def test_example(name, model):
    source = (EXAMPLES / f"{name}.py").read_text()
    # Only the import line names this package: the official SDK's program with its import changed.
    ours = [line for line in source.splitlines() if "openai_codex_rs" in line]
    assert ours and all(re.match(r"from openai_codex_rs import ", line) for line in ours), ours

    answer = '{"city": "Paris", "country": "France"}' if name == "structured_output" else ANSWER
    # Slow enough that a turn is still running when the example steers or interrupts it.
    model.default(messages=[{"text": answer, "phase": "final_answer", "chunks": 4}], delay_between_ms=150)
    env = dict(os.environ, **model.env)
    env.pop("OPENAI_API_KEY", None)
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / f"{name}.py")],
        cwd=model.workspace,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    for expected in EXPECT[name]:
        assert expected in done.stdout, (expected, done.stdout)
