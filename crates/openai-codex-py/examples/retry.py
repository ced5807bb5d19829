"""Retry an operation while the runtime is overloaded; inspect a typed error."""
from openai_codex_rs import Codex, InvalidRequestError, JsonRpcError, is_retryable_error, retry_on_overload

with Codex() as codex:
    thread = codex.thread_start()
    result = retry_on_overload(lambda: thread.run("Say hello."), max_attempts=3)
    print(result.final_response)
    try:
        codex.thread_resume("00000000-0000-0000-0000-000000000000")
    except InvalidRequestError as error:
        print("typed error:", type(error).__name__, isinstance(error, JsonRpcError), error.code)
        print("retryable:", is_retryable_error(error))
