"""Two turns streamed at once on one client."""
import asyncio

from openai_codex_rs import AsyncCodex


async def ask(codex: AsyncCodex, question: str) -> str:
    thread = await codex.thread_start()
    turn = await thread.turn(question)
    parts = []
    async for event in turn.stream():
        if event.method == "item/agentMessage/delta":
            parts.append(event.payload.delta)
    return "".join(parts)


async def main() -> None:
    async with AsyncCodex() as codex:
        answers = await asyncio.gather(ask(codex, "First question?"), ask(codex, "Second question?"))
        for answer in answers:
            print(answer)


asyncio.run(main())
