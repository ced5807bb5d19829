"""Called on the event loop by the core when a Rust future finishes (see ``src/bridge.rs``)."""

from __future__ import annotations

import asyncio
from typing import Any


def _resolve(future: asyncio.Future, value: Any) -> None:
    if not future.done():
        future.set_result(value)


def _reject(future: asyncio.Future, error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)
