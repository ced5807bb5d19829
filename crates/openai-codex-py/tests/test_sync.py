"""The blocking face (`Codex`, `Thread`, `TurnHandle`) against the real runtime."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from openai_codex_rs import (
    ApprovalMode,
    Codex,
    ImageInput,
    InvalidRequestError,
    JsonRpcError,
    LocalImageInput,
    Notification,
    Sandbox,
    TextInput,
    Thread,
    TransportClosedError,
    TurnFailedError,
    TurnHandle,
    TurnResult,
)
from openai_codex_rs.types import TurnStatus


def test_run_returns_the_final_answer_and_the_turn(model):
    model.reply("Hello from the scripted model.", usage=[11, 7])
    with Codex(model.config()) as codex:
        assert codex.metadata.user_agent
        thread = codex.thread_start(sandbox=Sandbox.read_only)
        assert isinstance(thread, Thread) and thread.id
        result = thread.run("Say hello in one sentence.")
    assert isinstance(result, TurnResult)
    assert result.final_response == "Hello from the scripted model."
    assert result.status == TurnStatus.completed and result.status == "completed"
    assert result.error is None
    kinds = [item.type for item in result.items]
    assert kinds.count("userMessage") == 1 and "agentMessage" in kinds
    assert result.usage is not None and result.usage.last.input_tokens == 11
    assert result.usage.model_dump()["last"]["output_tokens"] == 7
    assert model.requests()[0]["user_texts"][-1] == "Say hello in one sentence."


def test_stream_yields_the_turns_notifications_in_order(model):
    model.reply("one two three")
    with Codex(model.config()) as codex:
        handle = codex.thread_start().turn(TextInput("stream please"))
        assert isinstance(handle, TurnHandle)
        events = list(handle.stream())
    assert all(isinstance(e, Notification) for e in events)
    methods = [e.method for e in events]
    assert methods[0] == "turn/started" and methods[-1] == "turn/completed"
    deltas = [e.payload.delta for e in events if e.method == "item/agentMessage/delta"]
    assert "".join(deltas) == "one two three"
    assert all(e.payload.turn_id == handle.id for e in events if e.method == "item/agentMessage/delta")
    assert events[-1].model_dump()["params"]["turn"]["status"] == "completed"


def test_turn_options_reach_the_model_request(model):
    model.reply("ok")
    schema = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"], "additionalProperties": False}
    with Codex(model.config()) as codex:
        thread = codex.thread_start(developer_instructions="Be terse.", approval_mode=ApprovalMode.deny_all)
        thread.run("x", effort="low", output_schema=schema, sandbox=Sandbox.workspace_write)
    body = model.requests()[0]["body"]
    assert body["reasoning"]["effort"] == "low"
    assert body["text"]["format"]["schema"]["required"] == ["a"]
    assert "Be terse." in str(body["input"])


def test_thread_lifecycle(model):
    model.default(messages=[{"text": "fine", "phase": "final_answer"}])
    with Codex(model.config()) as codex:
        thread = codex.thread_start()
        thread.run("first turn")
        thread.set_name("named thread")
        read = thread.read(include_turns=True)
        assert read.thread.id == thread.id and read.thread.name == "named thread"
        assert len(read.thread.turns) == 1
        listed = codex.thread_list(limit=10)
        assert thread.id in [t.id for t in listed.data]
        fork = codex.thread_fork(thread.id)
        assert fork.id != thread.id and fork.run("on the fork").final_response == "fine"
        resumed = codex.thread_resume(thread.id)
        assert resumed == Thread(codex, resumed._core) and resumed.id == thread.id
        codex.thread_archive(thread.id)
        assert thread.id not in [t.id for t in codex.thread_list().data]
        assert thread.id in [t.id for t in codex.thread_list(archived=True).data]
        back = codex.thread_unarchive(thread.id)
        assert back.run("after unarchive").final_response == "fine"
        assert codex.thread_list(limit=1).model_dump()["data"][0]["id"]
        thread.compact()


def test_steer_and_interrupt(model):
    model.push(messages=[{"text": "slow answer", "chunks": 50}], delay_between_ms=100)
    model.default(messages=[{"text": "steered", "phase": "final_answer"}])
    with Codex(model.config()) as codex:
        thread = codex.thread_start()
        handle = thread.turn("start something long")
        stream = handle.stream()
        next(stream)
        handle.steer("and mind this")
        steered = handle.run()
        assert [i.type for i in steered.items].count("userMessage") == 2
        model.push(messages=[{"text": "never finishes", "chunks": 100}], delay_between_ms=200)
        second = thread.turn("another")
        for event in second.stream():
            if event.method == "item/agentMessage/delta":
                second.interrupt()
                break
        result = second.run()
        assert result.status == "interrupted"
        with pytest.raises(InvalidRequestError):
            second.steer("too late")


def test_inputs_are_checked_before_sending(model, tmp_path):
    png = tmp_path / "pixel.png"
    png.write_bytes(bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                                  "1f15c4890000000d49444154789c6300010000050001a5f645400000000049454e44ae426082"))
    model.default(messages=[{"text": "seen", "phase": "final_answer"}])
    with Codex(model.config()) as codex:
        thread = codex.thread_start()
        result = thread.run([TextInput("what is this?"), LocalImageInput(str(png)),
                             ImageInput("data:image/png;base64,iVBORw0KGgo=")])
        assert result.final_response == "seen"
        with pytest.raises(TypeError):
            thread.run([42])
        with pytest.raises(ValueError):
            thread.run("x", sandbox="read-only")
        with pytest.raises(ValueError):
            codex.thread_start(approval_mode="auto_review")
    assert len(model.requests()) == 1


def test_failed_turn_raises_runtime_error_with_the_partial_result(model):
    model.push(http_error={"status": 400, "body": '{"error": {"message": "scripted bad request"}}'})
    with Codex(model.config()) as codex:
        thread = codex.thread_start()
        with pytest.raises(RuntimeError) as info:
            thread.run("fail please")
        assert isinstance(info.value, TurnFailedError)
        assert "scripted bad request" in str(info.value)
        assert info.value.result.status == "failed"
        with pytest.raises(JsonRpcError) as unknown:
            codex.thread_resume("00000000-0000-0000-0000-000000000000")
        assert isinstance(unknown.value, InvalidRequestError) and unknown.value.code == -32600


def test_models_account_and_closed_client(model):
    with Codex(model.config()) as codex:
        models = codex.models()
        assert models.data and models.data[0].id
        assert codex.account().model_dump() is not None
    with pytest.raises(TransportClosedError):
        codex.models()


def test_gil_is_released_while_run_waits(model):
    model.push(messages=[{"text": "late", "phase": "final_answer"}], pause_ms=1500)
    ticks = 0
    stop = threading.Event()

    def count():
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            time.sleep(0.01)

    with Codex(model.config()) as codex:
        thread = codex.thread_start()
        counter = threading.Thread(target=count)
        counter.start()
        try:
            assert thread.run("wait").final_response == "late"
        finally:
            stop.set()
            counter.join()
    # About 150 ticks in 1.5 s when the waiting call lets other threads run; none if it holds the GIL.
    assert ticks > 50


def test_ctrl_c_in_run_interrupts_the_turn_and_keeps_the_client(model):
    model.push(messages=[{"text": "endless", "chunks": 200}], delay_between_ms=100)
    model.default(messages=[{"text": "still here", "phase": "final_answer"}])
    with Codex(model.config()) as codex:
        thread = codex.thread_start()
        handle = thread.turn("long job")
        timer = threading.Timer(1.0, lambda: os.kill(os.getpid(), signal.SIGINT))
        timer.start()
        started = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            handle.run()
        assert time.monotonic() - started < 10
        turns = thread.read(include_turns=True).thread.turns
        assert turns[-1].status == "interrupted"
        assert thread.run("are you there?").final_response == "still here"
