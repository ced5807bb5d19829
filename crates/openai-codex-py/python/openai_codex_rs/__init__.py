"""The Codex Python SDK's API over the ``openai-codex`` Rust core.

Import name ``openai_codex_rs`` (distribution ``openai-codex-rs``). The names are the official
``openai_codex`` package's, so a program moves over by changing its import line::

    from openai_codex_rs import Codex

    with Codex() as codex:
        thread = codex.thread_start()
        print(thread.run("Say hello in one sentence.").final_response)
"""

import atexit

from . import _core, types
from ._client import (
    AsyncChatgptLoginHandle,
    AsyncCodex,
    AsyncDeviceCodeLoginHandle,
    AsyncThread,
    AsyncTurnHandle,
    ChatgptLoginHandle,
    Codex,
    DeviceCodeLoginHandle,
    Notification,
    Thread,
    TurnHandle,
    TurnResult,
)
from ._config import CodexConfig
from ._enums import ApprovalMode, Sandbox
from ._errors import (
    CodexError,
    CodexRpcError,
    CodexTimeoutError,
    InternalRpcError,
    InvalidInputError,
    InvalidParamsError,
    InvalidRequestError,
    JsonRpcError,
    MethodNotFoundError,
    ParseError,
    RetryLimitExceededError,
    RuntimeNotFoundError,
    ServerBusyError,
    TransportClosedError,
    TurnFailedError,
    TurnStalledError,
    is_retryable_error,
)
from ._inputs import (
    ExternalMessage,
    ImageInput,
    Input,
    InputItem,
    LocalImageInput,
    MentionInput,
    RunInput,
    SkillInput,
    TextInput,
)
from ._retry import retry_on_overload

# Before the interpreter finalizes, the core's worker threads stop handing results to Python.
atexit.register(_core.shutdown)

__version__: str = _core.__version__
"""This package's version (that of the Rust core it is built from)."""

PINNED_RUNTIME_VERSION: str = _core.PINNED_RUNTIME_VERSION
"""The Codex runtime version this package is built and tested against."""

__all__ = [
    "Codex", "AsyncCodex", "CodexConfig", "ApprovalMode", "Sandbox", "ChatgptLoginHandle",
    "DeviceCodeLoginHandle", "AsyncChatgptLoginHandle", "AsyncDeviceCodeLoginHandle", "Thread",
    "AsyncThread", "TurnHandle", "AsyncTurnHandle", "TurnResult", "Notification", "Input",
    "InputItem", "RunInput", "TextInput", "ImageInput", "LocalImageInput", "SkillInput",
    "MentionInput", "ExternalMessage", "retry_on_overload", "is_retryable_error", "CodexError",
    "TransportClosedError", "JsonRpcError", "CodexRpcError", "ParseError", "InvalidRequestError",
    "MethodNotFoundError", "InvalidParamsError", "InternalRpcError", "ServerBusyError",
    "RetryLimitExceededError", "TurnFailedError", "CodexTimeoutError", "TurnStalledError",
    "RuntimeNotFoundError", "InvalidInputError", "types", "PINNED_RUNTIME_VERSION",
]
