"""The exception classes of the Codex Python SDK, and how the Rust core's errors become them.

The hierarchy is the official SDK's (``CodexError`` > ``JsonRpcError`` > ``CodexRpcError`` > the
typed JSON-RPC errors). The errors the official SDK raises as built-in exceptions
(``RuntimeError`` for a failed turn, ``FileNotFoundError`` for a missing runtime, ``TimeoutError``,
``ValueError``) are classes here that derive from both ``CodexError`` and that built-in, so
``except RuntimeError`` keeps working and ``except CodexError`` catches everything.
"""

from __future__ import annotations

import json
from typing import Any

from . import _core


class CodexError(Exception):
    """Base class of every error the SDK raises."""


class TransportClosedError(CodexError):
    """The connection to the runtime is gone (it exited, crashed, or the client was closed).

    ``exit_status`` and ``stderr_tail`` (the runtime's last stderr lines) say why.
    """

    def __init__(self, message: str, exit_status: str | None = None, stderr_tail: list[str] | None = None):
        super().__init__(message)
        self.exit_status = exit_status
        self.stderr_tail = list(stderr_tail or [])


class JsonRpcError(CodexError):
    """A JSON-RPC error response: ``code``, ``message``, ``data``."""

    def __init__(self, code: int, message: str, data: Any = None, method: str | None = None):
        super().__init__(f"JSON-RPC error {code}: {message}")
        self.code = code
        self.message = message
        self.data = data
        self.method = method

    @property
    def retryable(self) -> bool:
        """Whether retrying may succeed (the Rust core's rule: overload, not a spent retry budget)."""
        data = None if self.data is None else json.dumps(self.data)
        return _core.rpc_error_info(int(self.code), str(self.message), data)[1]


class CodexRpcError(JsonRpcError):
    """A JSON-RPC error in the server range (-32099..-32000) or of a known code."""


class ParseError(CodexRpcError):
    """-32700."""


class InvalidRequestError(CodexRpcError):
    """-32600: for example an unknown thread, or steering a finished turn."""


class MethodNotFoundError(CodexRpcError):
    """-32601."""


class InvalidParamsError(CodexRpcError):
    """-32602."""


class InternalRpcError(CodexRpcError):
    """-32603."""


class ServerBusyError(CodexRpcError):
    """The runtime is overloaded; retry later (``retry_on_overload`` does)."""


class RetryLimitExceededError(ServerBusyError):
    """The runtime's own retry budget is spent; retrying at once will not help."""


class TurnFailedError(CodexError, RuntimeError):
    """A turn ended with status ``failed``. ``result`` is what it produced before failing."""

    def __init__(self, message: str, result: Any = None, retryable: bool = False):
        super().__init__(message)
        self.result = result
        self._retryable = retryable

    @property
    def retryable(self) -> bool:
        """True only when the model was overloaded and the turn did no work yet."""
        return self._retryable


class CodexTimeoutError(CodexError, TimeoutError):
    """A request got no response within ``CodexConfig.request_timeout``."""


class TurnStalledError(CodexTimeoutError):
    """A turn sent no event for ``CodexConfig.turn_stall_timeout``; it was interrupted."""


class RuntimeNotFoundError(CodexError, FileNotFoundError):
    """No Codex runtime binary was found; the message lists where the SDK looked."""


class InvalidInputError(CodexError, ValueError):
    """An argument was rejected before anything was sent."""


_RPC_CLASSES = {
    "parse_error": ParseError,
    "invalid_request": InvalidRequestError,
    "method_not_found": MethodNotFoundError,
    "invalid_params": InvalidParamsError,
    "internal": InternalRpcError,
    "server_busy": ServerBusyError,
    "retry_limit_exceeded": RetryLimitExceededError,
    "server_error": CodexRpcError,
    "other": JsonRpcError,
}


def _from_core(kind: str, message: str, details_json: str) -> BaseException:
    """Builds the exception for an error of the Rust core (called by ``_core``)."""
    details = json.loads(details_json)
    rpc_class = _RPC_CLASSES.get(kind)
    if rpc_class is not None:
        return rpc_class(details["code"], details["message"], details.get("data"), details.get("method"))
    if kind == "transport_closed":
        return TransportClosedError(message, details.get("exit_status"), details.get("stderr_tail"))
    if kind == "turn_failed":
        from ._client import TurnResult

        result = TurnResult._from_dict(details["result"])
        return TurnFailedError(details.get("turn_message") or message, result, bool(details.get("retryable")))
    if kind == "stalled":
        return TurnStalledError(message)
    if kind == "timeout":
        return CodexTimeoutError(message)
    if kind == "runtime_not_found" or kind == "spawn":
        return RuntimeNotFoundError(message)
    if kind == "invalid_input":
        return InvalidInputError(message)
    return CodexError(message)


def is_retryable_error(exc: BaseException) -> bool:
    """Whether ``exc`` is transient (the runtime was overloaded) and worth retrying.

    A ``ServerBusyError`` is; a ``RetryLimitExceededError`` is not (the runtime already retried);
    another JSON-RPC error is when its ``data`` marks an overload; a failed turn is when the
    model was overloaded before the turn did any work. Anything else is not.
    """
    if isinstance(exc, JsonRpcError):
        return exc.retryable
    if isinstance(exc, TurnFailedError):
        return exc.retryable
    return False
