"""Steer a running turn, then interrupt another one."""
from openai_codex_rs import Codex

with Codex() as codex:
    thread = codex.thread_start()
    turn = thread.turn("Summarize the repository.")
    turn.steer("Focus on the README only.")
    result = turn.run()
    print("steered:", result.status, result.final_response)

    turn = thread.turn("Now list every file, slowly.")
    for event in turn.stream():
        if event.method == "item/agentMessage/delta":
            turn.interrupt()  # as soon as the answer starts
            break
    result = turn.run()
    print("interrupted:", result.status)
