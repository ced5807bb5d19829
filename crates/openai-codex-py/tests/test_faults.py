"""Faults the runtime will not produce on demand, from the fake app-server: typed exceptions,
never a hang."""

from __future__ import annotations

import asyncio

import pytest

from openai_codex_rs import (
    AsyncCodex,
    Codex,
    CodexConfig,
    JsonRpcError,
    MethodNotFoundError,
    RetryLimitExceededError,
    RuntimeNotFoundError,
    ServerBusyError,
    TransportClosedError,
    TurnStalledError,
    is_retryable_error,
    retry_on_overload,
)

OVERLOAD = {"code": -32001, "message": "Server overloaded; retry later."}


def test_crash_mid_turn_is_transport_closed_with_the_reason(fake):
    config = fake({"deltas": 10, "exit_mid_turn": {"after_deltas": 3, "code": 3, "stderr": "fatal: scripted crash"}})
    with Codex(config) as codex:
        handle = codex.thread_start().turn("crash")
        with pytest.raises(TransportClosedError) as info:
            list(handle.stream())
        assert "scripted crash" in str(info.value)
        assert any("scripted crash" in line for line in info.value.stderr_tail)
        with pytest.raises(TransportClosedError):
            codex.models()


def test_junk_lines_are_counted_not_fatal(fake):
    with Codex(fake({"junk_line": True})) as codex:
        result = codex.thread_start().run("hi")
        assert result.final_response == "Hello. Hello. Hello. "
        assert codex.junk_lines >= 1


def test_a_silent_runtime_is_a_stall_not_a_hang(fake):
    with Codex(fake({"go_silent": True}, turn_stall_timeout=1.0)) as codex:
        with pytest.raises(TurnStalledError) as info:
            codex.thread_start().run("hello?")
        assert isinstance(info.value, TimeoutError)


def test_an_unanswered_request_times_out(fake):
    with Codex(fake({"never_answer": ["model/list"]}, request_timeout=1.0)) as codex:
        with pytest.raises(TimeoutError):
            codex.models()


def test_unknown_server_request_is_refused_and_the_turn_completes(fake):
    with Codex(fake({"unknown_server_request": True})) as codex:
        handle = codex.thread_start().turn("go")
        methods = [e.method for e in handle.stream()]
        assert methods[-1] == "turn/completed"


def test_overload_is_server_busy_and_retried(fake):
    config = fake({"error_for": {"thread/list": dict(OVERLOAD, times=2)}})
    with Codex(config) as codex:
        with pytest.raises(ServerBusyError) as info:
            codex.thread_list()
        assert is_retryable_error(info.value) and info.value.code == -32001
        calls = []

        def op():
            calls.append(1)
            return codex.thread_list()

        listed = retry_on_overload(op, initial_delay_s=0.01)
        assert listed.data is not None and len(calls) == 2


def test_retry_limit_and_other_errors_are_not_retried(fake):
    config = fake({"error_for": {"thread/list": {"code": -32001, "message": "retry limit exceeded"},
                                 "model/list": {"code": -32601, "message": "no such method"}}})
    with Codex(config) as codex:
        calls = []

        def op():
            calls.append(1)
            return codex.thread_list()

        with pytest.raises(RetryLimitExceededError) as info:
            retry_on_overload(op, initial_delay_s=0.01)
        assert isinstance(info.value, ServerBusyError) and not is_retryable_error(info.value)
        assert len(calls) == 1
        with pytest.raises(MethodNotFoundError):
            codex.models()
    assert is_retryable_error(JsonRpcError(123, "weird", [{"x": "SERVER_OVERLOADED"}]))
    assert not is_retryable_error(ValueError("x"))
    with pytest.raises(ValueError):
        retry_on_overload(lambda: 1, max_attempts=0)


def test_async_retry_on_overload(fake):
    config = fake({"error_for": {"thread/list": dict(OVERLOAD, times=1)}})

    async def main():
        async with AsyncCodex(config) as codex:
            return await retry_on_overload(codex.thread_list, initial_delay_s=0.01)

    assert asyncio.run(main()).data is not None


def test_missing_binary_is_file_not_found():
    with pytest.raises(FileNotFoundError) as info:
        Codex(CodexConfig(codex_bin="/nonexistent/codex"))
    assert isinstance(info.value, RuntimeNotFoundError) and "codex_bin" in str(info.value)
