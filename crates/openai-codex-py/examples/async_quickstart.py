"""The quickstart with asyncio."""
import asyncio

from openai_codex_rs import AsyncCodex


async def main() -> None:
    async with AsyncCodex() as codex:
        thread = await codex.thread_start()
        result = await thread.run("Say hello in one sentence.")
        print(result.final_response)


asyncio.run(main())
