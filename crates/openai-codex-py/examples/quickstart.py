"""Start the runtime, open a thread, run one turn, print the answer."""
from openai_codex_rs import Codex

with Codex() as codex:
    thread = codex.thread_start()
    result = thread.run("Say hello in one sentence.")
    print(result.final_response)
