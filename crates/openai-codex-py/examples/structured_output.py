"""Ask for an answer that follows a JSON Schema."""
import json

from openai_codex_rs import Codex

SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "country": {"type": "string"}},
    "required": ["city", "country"],
    "additionalProperties": False,
}

with Codex() as codex:
    thread = codex.thread_start()
    result = thread.run("Where is the Eiffel Tower?", output_schema=SCHEMA)
    print(json.loads(result.final_response))
