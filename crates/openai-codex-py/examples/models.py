"""List the models, then run a turn with a chosen model and effort."""
from openai_codex_rs import Codex

with Codex() as codex:
    models = codex.models()
    for model in models.data:
        print(model.id, "-", model.display_name)
    thread = codex.thread_start(model=models.data[0].id, config={"model_reasoning_effort": "low"})
    print(thread.run("Hello?", effort="low").final_response)
