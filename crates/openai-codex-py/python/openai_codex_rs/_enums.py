"""``Sandbox`` and ``ApprovalMode``: the presets of the official SDK."""

from __future__ import annotations

import enum
from typing import Any


class Sandbox(str, enum.Enum):
    """Filesystem access of the commands a turn runs."""

    read_only = "read-only"
    """Read files, write nothing."""
    workspace_write = "workspace-write"
    """Read files; write inside the workspace and the configured writable roots."""
    full_access = "full-access"
    """No filesystem restrictions."""


class ApprovalMode(str, enum.Enum):
    """Who decides when a command needs more than the sandbox allows."""

    auto_review = "auto_review"
    """The runtime's automatic reviewer decides (the default of ``thread_start``)."""
    deny_all = "deny_all"
    """Escalations are refused without asking."""
    manual = "manual"
    """The client's approval handler decides (``Codex.set_approval_handler``); without one,
    every request is declined."""


def _member(enum_type: type[enum.Enum], value: Any, what: str) -> str | None:
    """The wire string of a preset; anything that is not a member is a ``ValueError``."""
    if value is None:
        return None
    if not isinstance(value, enum_type):
        names = ", ".join(f"{enum_type.__name__}.{m.name}" for m in enum_type)
        raise ValueError(f"{what} must be one of {names}; got {value!r}")
    return value.value
