"""Protocol values: the runtime's JSON payloads with attribute access.

The official SDK returns pydantic models; here every payload is a ``Model``: read a field as an
attribute in snake_case (``response.thread.id``, ``usage.total.input_tokens``) or camelCase as on
the wire, export it with ``model_dump()`` (snake_case keys; ``by_alias=True`` for the wire's
camelCase). A field the payload does not carry reads as ``None``, as an unset optional field of
a pydantic model does.
"""

from __future__ import annotations

import enum
import re
from typing import Any, Iterator

_CAMEL = re.compile(r"_([a-z0-9])")
_SNAKE = re.compile(r"(?<=[a-z0-9])([A-Z])")


def _camel(name: str) -> str:
    return _CAMEL.sub(lambda m: m.group(1).upper(), name)


def _snake(name: str) -> str:
    return _SNAKE.sub(lambda m: "_" + m.group(1).lower(), name)


def _wrap(value: Any) -> Any:
    if isinstance(value, dict):
        return Model(value)
    if isinstance(value, list):
        return [_wrap(v) for v in value]
    return value


def _dump(value: Any, by_alias: bool) -> Any:
    if isinstance(value, dict):
        return {(k if by_alias else _snake(k)): _dump(v, by_alias) for k, v in value.items()}
    if isinstance(value, list):
        return [_dump(v, by_alias) for v in value]
    return value


class Model:
    """A protocol payload (a JSON object) with attribute access."""

    __slots__ = ("_data",)

    def __init__(self, data: dict[str, Any] | None = None, **fields: Any):
        object.__setattr__(self, "_data", dict(data or {}, **{_camel(k): v for k, v in fields.items()}))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        data = self._data
        if name in data:
            return _wrap(data[name])
        return _wrap(data.get(_camel(name)))

    def __getitem__(self, key: str) -> Any:
        return _wrap(self._data[key])

    def __contains__(self, key: str) -> bool:
        return key in self._data or _camel(key) in self._data

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Model):
            return self._data == other._data
        return NotImplemented

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._data!r})"

    def model_dump(self, *, by_alias: bool = False, mode: str = "python", exclude_none: bool = False) -> dict[str, Any]:
        """The payload as a dict: snake_case keys, or the wire's camelCase with ``by_alias=True``."""
        out = _dump(self._data, by_alias)
        if exclude_none:
            out = {k: v for k, v in out.items() if v is not None}
        return out

    def model_dump_json(self, *, by_alias: bool = False) -> str:
        """The payload as JSON text."""
        import json

        return json.dumps(self.model_dump(by_alias=by_alias))


class _StrEnum(str, enum.Enum):
    """A string enum that prints as its value (as ``enum.StrEnum`` of Python 3.11 does)."""

    def __str__(self) -> str:
        return str(self.value)

    __format__ = str.__format__


class TurnStatus(_StrEnum):
    """A turn's status."""

    completed = "completed"
    interrupted = "interrupted"
    failed = "failed"
    inProgress = "inProgress"


class CancelLoginAccountStatus(_StrEnum):
    """The answer to ``cancel()`` of a login."""

    canceled = "canceled"
    notFound = "notFound"


# The official SDK's named payload types. Each is a ``Model``: the names document what a call
# returns and work in ``isinstance`` checks.
class Account(Model): """An account (``GetAccountResponse.account``)."""
class AccountLoginCompletedNotification(Model): """``account/login/completed``."""
class CancelLoginAccountResponse(Model): """``account/login/cancel`` response."""
class GetAccountResponse(Model): """``account/read`` response."""
class InitializeResponse(Model): """``initialize`` response (``Codex.metadata``)."""
class ThreadItem(Model): """An item of a turn (``TurnResult.items``)."""
class ThreadTokenUsage(Model): """Token usage of a turn (``TurnResult.usage``)."""
class TurnError(Model): """The error of a failed or interrupted turn."""
class Turn(Model): """A turn as ``thread/read`` returns it."""
class ThreadReadResponse(Model): """``thread/read`` response."""
class ThreadListResponse(Model): """``thread/list`` response."""
class ThreadArchiveResponse(Model): """``thread/archive`` response."""
class ThreadSetNameResponse(Model): """``thread/name/set`` response."""
class ThreadCompactStartResponse(Model): """``thread/compact/start`` response."""
class ModelListResponse(Model): """``model/list`` response."""
class TurnSteerResponse(Model): """``turn/steer`` response."""
class TurnInterruptResponse(Model): """``turn/interrupt`` response."""


__all__ = [
    "Model", "TurnStatus", "CancelLoginAccountStatus", "Account", "AccountLoginCompletedNotification",
    "CancelLoginAccountResponse", "GetAccountResponse", "InitializeResponse", "ThreadItem",
    "ThreadTokenUsage", "TurnError", "Turn", "ThreadReadResponse", "ThreadListResponse",
    "ThreadArchiveResponse", "ThreadSetNameResponse", "ThreadCompactStartResponse",
    "ModelListResponse", "TurnSteerResponse", "TurnInterruptResponse",
]
