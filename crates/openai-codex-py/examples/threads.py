"""Thread lifecycle: name, read, list, fork, archive, unarchive, resume, compact."""
from openai_codex_rs import Codex

with Codex() as codex:
    thread = codex.thread_start()
    thread.run("Remember the number 42.")
    thread.set_name("numbers")
    print("name:", thread.read().thread.name)
    print("turns:", len(thread.read(include_turns=True).thread.turns))
    print("listed:", thread.id in [t.id for t in codex.thread_list(limit=20).data])
    fork = codex.thread_fork(thread.id)
    print("fork answers:", fork.run("Which number?").final_response)
    codex.thread_archive(fork.id)
    restored = codex.thread_unarchive(fork.id)
    print("unarchived answers:", restored.run("Still there?").final_response)
    resumed = codex.thread_resume(thread.id)
    print("resumed:", resumed.id == thread.id)
    thread.compact()
