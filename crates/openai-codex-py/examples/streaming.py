"""Print a turn's answer as it arrives, delta by delta."""
from openai_codex_rs import Codex

with Codex() as codex:
    thread = codex.thread_start()
    turn = thread.turn("Write a haiku about the sea.")
    for event in turn.stream():
        if event.method == "item/agentMessage/delta":
            print(event.payload.delta, end="", flush=True)
        elif event.method == "turn/completed":
            print()
            print("status:", event.payload.turn.status)
