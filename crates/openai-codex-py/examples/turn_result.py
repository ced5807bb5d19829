"""Everything in a TurnResult: status, items, usage, timing."""
from openai_codex_rs import Codex

with Codex() as codex:
    thread = codex.thread_start()
    result = thread.run("Say hello.")
    print("id:", result.id)
    print("status:", result.status.value)
    print("items:", [item.type for item in result.items])
    print("usage:", result.usage.total.total_tokens if result.usage else None)
    print("duration_ms:", result.duration_ms)
    print("final:", result.final_response)
