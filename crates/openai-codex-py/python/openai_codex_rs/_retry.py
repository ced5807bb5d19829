"""``retry_on_overload``: retries an operation while the runtime says it is overloaded."""

from __future__ import annotations

import asyncio
import inspect
import random
import time
from typing import Any, Callable, TypeVar

from ._errors import is_retryable_error

T = TypeVar("T")


def _delays(max_attempts: int, initial_delay_s: float, max_delay_s: float, jitter_ratio: float):
    delay = initial_delay_s
    for _ in range(max_attempts - 1):
        jitter = delay * jitter_ratio
        yield min(max_delay_s, delay) + random.uniform(-jitter, jitter)
        delay = min(max_delay_s, delay * 2)


def retry_on_overload(
    op: Callable[[], T],
    *,
    max_attempts: int = 3,
    initial_delay_s: float = 0.25,
    max_delay_s: float = 2.0,
    jitter_ratio: float = 0.2,
) -> T:
    """Calls ``op()`` and retries it with exponential backoff and jitter while it fails with a
    retryable error (``is_retryable_error``). Any other error, or the last attempt's, is raised
    unchanged.

    ``op`` may also be an async function: then this returns an awaitable that retries with
    ``asyncio.sleep`` (the official SDK has no async variant).
    """
    if max_attempts < 1:
        raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
    delays = _delays(max_attempts, initial_delay_s, max_delay_s, jitter_ratio)
    try:
        first = op()
    except Exception as exc:
        if not is_retryable_error(exc) or max_attempts == 1:
            raise
        last = exc
    else:
        if inspect.isawaitable(first):
            return _retry_async(op, first, delays)  # type: ignore[return-value]
        return first
    for delay in delays:
        if delay > 0:
            time.sleep(delay)
        try:
            return op()
        except Exception as exc:
            if not is_retryable_error(exc):
                raise
            last = exc
    raise last


async def _retry_async(op: Callable[[], Any], first: Any, delays) -> Any:
    try:
        return await first
    except Exception as exc:
        if not is_retryable_error(exc):
            raise
        last = exc
    for delay in delays:
        if delay > 0:
            await asyncio.sleep(delay)
        try:
            return await op()
        except Exception as exc:
            if not is_retryable_error(exc):
                raise
            last = exc
    raise last
