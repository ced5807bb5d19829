"""Fixtures: the real runtime against the testkit's scripted model, and the fault-injecting fake
app-server. `cargo xtask python-test` builds both helper binaries and names them in
`CODEX_SCRIPTED_MODEL` and `CODEX_FAKE_APP_SERVER_BIN`."""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

import pytest

from openai_codex_rs import CodexConfig


def _binary(var: str) -> str:
    path = os.environ.get(var)
    if not path or not os.path.isfile(path):
        pytest.fail(f"{var} must name the built helper binary; run the suite with `cargo xtask python-test`")
    return path


class ScriptedModel:
    """`codex-scripted-model`: a throwaway CODEX_HOME whose model is scripted from here."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [_binary("CODEX_SCRIPTED_MODEL")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        hello = json.loads(self.proc.stdout.readline())
        self.codex_bin: str = hello["codex_bin"]
        self.env: dict[str, str] = hello["env"]
        self.workspace: str = hello["workspace"]

    def _cmd(self, **command: Any) -> dict[str, Any]:
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()
        answer = json.loads(self.proc.stdout.readline())
        assert "error" not in answer, answer
        return answer

    def push(self, **script: Any) -> None:
        """Queues the answer to the next model call."""
        self._cmd(cmd="push", script=script)

    def reply(self, text: str, **script: Any) -> None:
        """Queues a final answer of `text`."""
        self.push(messages=[{"text": text, "phase": "final_answer", "chunks": 3}], **script)

    def default(self, **script: Any) -> None:
        self._cmd(cmd="default", script=script)

    def requests(self) -> list[dict[str, Any]]:
        return self._cmd(cmd="requests")["requests"]

    def config(self, **overrides: Any) -> CodexConfig:
        return CodexConfig(codex_bin=self.codex_bin, env=self.env, cwd=self.workspace, **overrides)

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


@pytest.fixture
def model():
    m = ScriptedModel()
    yield m
    m.close()


@pytest.fixture
def fake():
    """A CodexConfig factory for the fake app-server playing a scenario."""
    binary = _binary("CODEX_FAKE_APP_SERVER_BIN")

    def make(scenario: dict[str, Any] | None = None, **overrides: Any) -> CodexConfig:
        return CodexConfig(
            codex_bin=binary,
            env={"CODEX_FAKE_SCENARIO": json.dumps(scenario or {})},
            **overrides,
        )

    return make
