"""Text and images in one turn: a data URL and a local file."""
import base64
import os
import tempfile

from openai_codex_rs import Codex, ImageInput, LocalImageInput, TextInput

PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGMAAQAABQABpfZFQAAAAABJRU5ErkJggg=="
)

with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "pixel.png")
    with open(path, "wb") as f:
        f.write(PIXEL)
    with Codex() as codex:
        thread = codex.thread_start()
        result = thread.run(
            [
                TextInput("Describe these images."),
                ImageInput("data:image/png;base64," + base64.b64encode(PIXEL).decode()),
                LocalImageInput(path),
            ]
        )
        print(result.final_response)
