"""The asyncio face (`AsyncCodex`, `AsyncThread`, `AsyncTurnHandle`): same behaviour, awaitables."""

from __future__ import annotations

import asyncio
import threading

import pytest

from openai_codex_rs import AsyncCodex, AsyncThread, AsyncTurnHandle, InvalidRequestError, TurnResult


def test_async_run_stream_and_lifecycle(model):
    model.default(messages=[{"text": "async answer", "phase": "final_answer", "chunks": 2}])

    async def main():
        codex = AsyncCodex(model.config())
        with pytest.raises(RuntimeError):
            codex.metadata  # not started yet: the client starts lazily
        async with codex:
            assert codex.metadata.user_agent
            thread = await codex.thread_start()
            assert isinstance(thread, AsyncThread)
            result = await thread.run("hi")
            assert isinstance(result, TurnResult) and result.final_response == "async answer"
            handle = await thread.turn("stream it")
            assert isinstance(handle, AsyncTurnHandle)
            methods = [e.method async for e in handle.stream()]
            assert methods[0] == "turn/started" and methods[-1] == "turn/completed"
            await thread.set_name("async thread")
            assert (await thread.read()).thread.name == "async thread"
            assert thread.id in [t.id for t in (await codex.thread_list()).data]
            fork = await codex.thread_fork(thread.id)
            await codex.thread_archive(fork.id)
            back = await codex.thread_unarchive(fork.id)
            assert (await back.run("again")).final_response == "async answer"
            assert (await codex.models()).data
            with pytest.raises(InvalidRequestError):
                await codex.thread_resume("00000000-0000-0000-0000-000000000000")

    asyncio.run(main())


def test_concurrent_turns_stream_on_one_loop_without_threads_per_call(model):
    model.default(messages=[{"text": "a b c d", "phase": "final_answer", "chunks": 4}], delay_between_ms=20)

    async def one(codex, i):
        thread = await codex.thread_start()
        handle = await thread.turn(f"turn {i}")
        deltas = [e.payload.delta async for e in handle.stream() if e.method == "item/agentMessage/delta"]
        return "".join(deltas)

    async def main():
        async with AsyncCodex(model.config()) as codex:
            before = threading.active_count()
            texts = await asyncio.gather(*(one(codex, i) for i in range(4)))
            # Awaiting the core's futures takes no Python worker threads (the official SDK's
            # to_thread hop would leave a pool of them behind).
            assert threading.active_count() == before
            return texts

    assert asyncio.run(main()) == ["a b c d"] * 4


def test_cancelling_an_awaited_run_interrupts_the_turn(model):
    model.push(messages=[{"text": "endless", "chunks": 200}], delay_between_ms=100)
    model.default(messages=[{"text": "next", "phase": "final_answer"}])

    async def main():
        async with AsyncCodex(model.config()) as codex:
            thread = await codex.thread_start()
            handle = await thread.turn("long")
            task = asyncio.ensure_future(handle.run())
            await asyncio.sleep(1.0)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            for _ in range(100):
                turns = (await thread.read(include_turns=True)).thread.turns
                if turns[-1].status == "interrupted":
                    break
                await asyncio.sleep(0.1)
            assert turns[-1].status == "interrupted"
            assert (await thread.run("again")).final_response == "next"

    asyncio.run(main())
