"""``Codex`` / ``AsyncCodex`` and their threads, turns and login handles.

Every class is a thin face over an object of the Rust core (``_core``): the blocking classes
call its blocking methods (the GIL is released while they wait), the async classes await its
``*_async`` methods, which resolve from the Rust futures on the core's runtime.
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Iterator, Optional

from . import _core
from ._config import CodexConfig
from ._enums import ApprovalMode, Sandbox, _member
from ._inputs import RunInput, _wire
from . import types as t


def _kw(**values: Any) -> str:
    """Keyword arguments as the core's JSON: presets by their wire names, unset ones left out."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if value is None:
            continue
        if key == "sandbox":
            value = _member(Sandbox, value, "sandbox")
        elif key == "approval_mode":
            value = _member(ApprovalMode, value, "approval_mode")
        elif key == "cwd" and not isinstance(value, (list, tuple)):
            value = os.fspath(value)
        elif isinstance(value, t.Model):
            value = value.model_dump(by_alias=True)
        elif isinstance(value, (set, frozenset, tuple)):
            value = list(value)
        out[key] = value
    return json.dumps(out)


class Notification:
    """One notification of a turn: ``method`` and its ``payload`` (parsed when first read)."""

    __slots__ = ("method", "_raw", "_payload")

    def __init__(self, method: str, raw: str):
        self.method = method
        self._raw = raw
        self._payload: Optional[t.Model] = None

    @property
    def payload(self) -> t.Model:
        """The notification's params, with attribute access."""
        if self._payload is None:
            self._payload = t.Model(json.loads(self._raw).get("params") or {})
        return self._payload

    def model_dump(self, *, by_alias: bool = False) -> dict[str, Any]:
        """``{"method": ..., "params": {...}}``."""
        return {"method": self.method, "params": self.payload.model_dump(by_alias=by_alias)}

    def __repr__(self) -> str:
        return f"Notification(method={self.method!r})"


@dataclass
class TurnResult:
    """What a finished turn produced.

    ``final_response`` is the last agent message with phase ``final_answer``, else the last one
    without a phase, else ``None``.
    """

    id: str
    status: t.TurnStatus
    error: Optional[t.TurnError] = None
    started_at: Optional[int] = None
    completed_at: Optional[int] = None
    duration_ms: Optional[int] = None
    final_response: Optional[str] = None
    items: list[t.ThreadItem] = field(default_factory=list)
    usage: Optional[t.ThreadTokenUsage] = None

    @classmethod
    def _from_dict(cls, d: dict[str, Any]) -> "TurnResult":
        try:
            status = t.TurnStatus(d["status"])
        except ValueError:
            status = d["status"]
        return cls(
            id=d["id"],
            status=status,
            error=t.TurnError(d["error"]) if d.get("error") is not None else None,
            started_at=d.get("started_at"),
            completed_at=d.get("completed_at"),
            duration_ms=d.get("duration_ms"),
            final_response=d.get("final_response"),
            items=[t.ThreadItem(i) for i in d.get("items") or []],
            usage=t.ThreadTokenUsage(d["usage"]) if d.get("usage") is not None else None,
        )


def _result(raw: str) -> TurnResult:
    return TurnResult._from_dict(json.loads(raw))


# ---------------------------------------------------------------------------------------------
# Blocking face


class ChatgptLoginHandle:
    """A browser ChatGPT login in progress: open ``auth_url``, then ``wait()``."""

    def __init__(self, core: Any):
        self._core = core
        fields = json.loads(core.fields_json())
        self.login_id: str = fields["login_id"]
        self.auth_url: str = fields.get("auth_url", "")

    def wait(self) -> t.AccountLoginCompletedNotification:
        """Blocks until this login completes (successfully or not)."""
        return t.AccountLoginCompletedNotification(json.loads(self._core.wait()))

    def cancel(self) -> t.CancelLoginAccountResponse:
        """Cancels the login."""
        return t.CancelLoginAccountResponse(json.loads(self._core.cancel()))


class DeviceCodeLoginHandle(ChatgptLoginHandle):
    """A device-code ChatGPT login: show ``verification_url`` and ``user_code``, then ``wait()``."""

    def __init__(self, core: Any):
        super().__init__(core)
        fields = json.loads(core.fields_json())
        self.verification_url: str = fields["verification_url"]
        self.user_code: str = fields["user_code"]
        del self.auth_url


class TurnHandle:
    """A started turn: ``stream()`` its events, ``steer()``, ``interrupt()``, or ``run()``."""

    def __init__(self, core: Any):
        self._core = core
        self.id: str = core.id
        self.thread_id: str = core.thread_id

    def stream(self) -> Iterator[Notification]:
        """This turn's notifications in order, ending after its ``turn/completed``."""
        next_batch = self._core.next_batch
        while True:
            batch = next_batch()
            if batch is None:
                return
            for method, raw in batch:
                yield Notification(method, raw)

    def run(self) -> TurnResult:
        """Waits for the turn to finish. Ctrl-C interrupts the turn and raises KeyboardInterrupt.

        Raises ``TurnFailedError`` (a ``RuntimeError``) when the turn failed.
        """
        return _result(self._core.run())

    def steer(self, input: RunInput) -> t.TurnSteerResponse:
        """Adds input to the running turn."""
        return t.TurnSteerResponse(json.loads(self._core.steer(json.dumps(_wire(input, external=False)))))

    def interrupt(self) -> t.TurnInterruptResponse:
        """Interrupts the turn; the turn then completes with status ``interrupted``."""
        return t.TurnInterruptResponse(json.loads(self._core.interrupt()))

    def __repr__(self) -> str:
        return f"TurnHandle(thread_id={self.thread_id!r}, id={self.id!r})"


def _turn_kw(approval_mode, cwd, effort, model, output_schema, personality, sandbox, service_tier, summary) -> str:
    return _kw(
        approval_mode=approval_mode,
        cwd=cwd,
        effort=effort,
        model=model,
        output_schema=output_schema,
        personality=personality,
        sandbox=sandbox,
        service_tier=service_tier,
        summary=summary,
    )


class Thread:
    """A conversation: ``run()`` a turn, or ``turn()`` for a handle; ``read``, ``set_name``, ``compact``."""

    def __init__(self, codex: "Codex", core: Any):
        self._codex = codex
        self._core = core
        self.id: str = core.id

    def run(
        self,
        input: RunInput,
        *,
        approval_mode: Optional[ApprovalMode] = None,
        cwd: Optional[str] = None,
        effort: Optional[str] = None,
        model: Optional[str] = None,
        output_schema: Optional[dict[str, Any]] = None,
        personality: Optional[str] = None,
        sandbox: Optional[Sandbox] = None,
        service_tier: Optional[str] = None,
        summary: Optional[str] = None,
    ) -> TurnResult:
        """Starts a turn and waits for its result."""
        return self.turn(
            input,
            approval_mode=approval_mode,
            cwd=cwd,
            effort=effort,
            model=model,
            output_schema=output_schema,
            personality=personality,
            sandbox=sandbox,
            service_tier=service_tier,
            summary=summary,
        ).run()

    def turn(
        self,
        input: RunInput,
        *,
        approval_mode: Optional[ApprovalMode] = None,
        cwd: Optional[str] = None,
        effort: Optional[str] = None,
        model: Optional[str] = None,
        output_schema: Optional[dict[str, Any]] = None,
        personality: Optional[str] = None,
        sandbox: Optional[Sandbox] = None,
        service_tier: Optional[str] = None,
        summary: Optional[str] = None,
    ) -> TurnHandle:
        """Starts a turn (or joins the running one) and returns its handle."""
        wire = json.dumps(_wire(input))
        kw = _turn_kw(approval_mode, cwd, effort, model, output_schema, personality, sandbox, service_tier, summary)
        return TurnHandle(self._core.turn(wire, kw))

    def read(self, *, include_turns: bool = False) -> t.ThreadReadResponse:
        """The thread's stored state (with its turns when asked)."""
        return t.ThreadReadResponse(json.loads(self._core.read(include_turns)))

    def set_name(self, name: str) -> t.ThreadSetNameResponse:
        """Names the thread."""
        return t.ThreadSetNameResponse(json.loads(self._core.set_name(name)))

    def compact(self) -> t.ThreadCompactStartResponse:
        """Starts compacting the thread's history (it runs as a turn of its own)."""
        return t.ThreadCompactStartResponse(json.loads(self._core.compact()))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Thread) and other._codex is self._codex and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    def __repr__(self) -> str:
        return f"Thread(id={self.id!r})"


class Codex:
    """A Codex runtime and the connection to it (blocking). Starts the runtime at once.

    Use it as a context manager, or call ``close()``.
    """

    def __init__(self, config: Optional[CodexConfig] = None):
        self._config = config if config is not None else CodexConfig()
        self._core = _core.CoreClient.start(self._config._json())

    @property
    def metadata(self) -> t.InitializeResponse:
        """The runtime's ``initialize`` response (``server_info``, ``user_agent``, ...)."""
        return t.InitializeResponse(json.loads(self._core.metadata_json()))

    def close(self) -> None:
        """Stops the runtime (idempotent). Later calls raise ``TransportClosedError``."""
        self._core.close()

    def __enter__(self) -> "Codex":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def login_api_key(self, api_key: str) -> None:
        """Logs in with an API key."""
        self._core.call("login_api_key", json.dumps(api_key))

    def login_chatgpt(self) -> ChatgptLoginHandle:
        """Starts a browser ChatGPT login."""
        return ChatgptLoginHandle(self._core.login_chatgpt())

    def login_chatgpt_device_code(self) -> DeviceCodeLoginHandle:
        """Starts a device-code ChatGPT login."""
        return DeviceCodeLoginHandle(self._core.login_chatgpt_device_code())

    def account(self, *, refresh_token: bool = False) -> t.GetAccountResponse:
        """The account the runtime is logged in with."""
        return t.GetAccountResponse(json.loads(self._core.call("account", json.dumps(bool(refresh_token)))))

    def logout(self) -> None:
        """Logs out."""
        self._core.call("logout", "null")

    def thread_start(
        self,
        *,
        approval_mode: ApprovalMode = ApprovalMode.auto_review,
        base_instructions: Optional[str] = None,
        config: Optional[dict[str, Any]] = None,
        cwd: Optional[str] = None,
        developer_instructions: Optional[str] = None,
        ephemeral: Optional[bool] = None,
        model: Optional[str] = None,
        model_provider: Optional[str] = None,
        personality: Optional[str] = None,
        sandbox: Optional[Sandbox] = None,
    ) -> Thread:
        """Starts a new thread."""
        kw = _kw(
            approval_mode=approval_mode,
            base_instructions=base_instructions,
            config=config,
            cwd=cwd,
            developer_instructions=developer_instructions,
            ephemeral=ephemeral,
            model=model,
            model_provider=model_provider,
            personality=personality,
            sandbox=sandbox,
        )
        return Thread(self, self._core.thread_start(kw))

    def thread_list(
        self,
        *,
        archived: Optional[bool] = None,
        cursor: Optional[str] = None,
        cwd: Any = None,
        limit: Optional[int] = None,
        model_providers: Optional[list[str]] = None,
        sort_key: Optional[str] = None,
        source_kinds: Optional[list[str]] = None,
    ) -> t.ThreadListResponse:
        """One page of stored threads (``data``, ``next_cursor``)."""
        kw = _kw(
            archived=archived,
            cursor=cursor,
            cwd=cwd,
            limit=limit,
            model_providers=model_providers,
            sort_key=sort_key,
            source_kinds=source_kinds,
        )
        return t.ThreadListResponse(json.loads(self._core.thread_list(kw)))

    def thread_resume(
        self,
        thread_id: str,
        *,
        approval_mode: ApprovalMode = ApprovalMode.auto_review,
        base_instructions: Optional[str] = None,
        config: Optional[dict[str, Any]] = None,
        cwd: Optional[str] = None,
        developer_instructions: Optional[str] = None,
        model: Optional[str] = None,
        model_provider: Optional[str] = None,
        personality: Optional[str] = None,
        sandbox: Optional[Sandbox] = None,
    ) -> Thread:
        """Loads a stored thread so it can run turns."""
        kw = _kw(
            approval_mode=approval_mode,
            base_instructions=base_instructions,
            config=config,
            cwd=cwd,
            developer_instructions=developer_instructions,
            model=model,
            model_provider=model_provider,
            personality=personality,
            sandbox=sandbox,
        )
        return Thread(self, self._core.thread_resume(thread_id, kw))

    def thread_fork(
        self,
        thread_id: str,
        *,
        approval_mode: ApprovalMode = ApprovalMode.auto_review,
        base_instructions: Optional[str] = None,
        config: Optional[dict[str, Any]] = None,
        cwd: Optional[str] = None,
        developer_instructions: Optional[str] = None,
        ephemeral: Optional[bool] = None,
        model: Optional[str] = None,
        model_provider: Optional[str] = None,
        sandbox: Optional[Sandbox] = None,
    ) -> Thread:
        """A new thread with a copy of this one's history."""
        kw = _kw(
            approval_mode=approval_mode,
            base_instructions=base_instructions,
            config=config,
            cwd=cwd,
            developer_instructions=developer_instructions,
            ephemeral=ephemeral,
            model=model,
            model_provider=model_provider,
            sandbox=sandbox,
        )
        return Thread(self, self._core.thread_fork(thread_id, kw))

    def thread_archive(self, thread_id: str) -> t.ThreadArchiveResponse:
        """Archives a thread."""
        return t.ThreadArchiveResponse(json.loads(self._core.call("thread_archive", json.dumps(thread_id))))

    def thread_unarchive(self, thread_id: str) -> Thread:
        """Unarchives a thread and loads it, so it can run turns at once."""
        return Thread(self, self._core.thread_unarchive(thread_id))

    def models(self, *, include_hidden: bool = False) -> t.ModelListResponse:
        """The models the runtime offers."""
        return t.ModelListResponse(json.loads(self._core.call("models", json.dumps(bool(include_hidden)))))

    @property
    def junk_lines(self) -> int:
        """Lines of runtime output that were not JSON-RPC (counted and skipped, never fatal)."""
        return self._core.junk_lines()


# ---------------------------------------------------------------------------------------------
# Async face


class AsyncChatgptLoginHandle:
    """A browser ChatGPT login in progress (async)."""

    def __init__(self, core: Any):
        self._core = core
        fields = json.loads(core.fields_json())
        self.login_id: str = fields["login_id"]
        self.auth_url: str = fields.get("auth_url", "")

    async def wait(self) -> t.AccountLoginCompletedNotification:
        """Waits until this login completes (successfully or not)."""
        return t.AccountLoginCompletedNotification(json.loads(await self._core.wait_async()))

    async def cancel(self) -> t.CancelLoginAccountResponse:
        """Cancels the login."""
        return t.CancelLoginAccountResponse(json.loads(await self._core.cancel_async()))


class AsyncDeviceCodeLoginHandle(AsyncChatgptLoginHandle):
    """A device-code ChatGPT login in progress (async)."""

    def __init__(self, core: Any):
        super().__init__(core)
        fields = json.loads(core.fields_json())
        self.verification_url: str = fields["verification_url"]
        self.user_code: str = fields["user_code"]
        del self.auth_url


class AsyncTurnHandle:
    """A started turn (async): ``stream()``, ``steer()``, ``interrupt()``, ``run()``."""

    def __init__(self, core: Any):
        self._core = core
        self.id: str = core.id
        self.thread_id: str = core.thread_id

    async def stream(self) -> AsyncIterator[Notification]:
        """This turn's notifications in order, ending after its ``turn/completed``."""
        next_batch = self._core.next_batch_async
        while True:
            batch = await next_batch()
            if batch is None:
                return
            for method, raw in batch:
                yield Notification(method, raw)

    async def run(self) -> TurnResult:
        """Waits for the turn to finish; cancelling the awaiting task interrupts the turn."""
        return _result(await self._core.run_async())

    async def steer(self, input: RunInput) -> t.TurnSteerResponse:
        """Adds input to the running turn."""
        wire = json.dumps(_wire(input, external=False))
        return t.TurnSteerResponse(json.loads(await self._core.steer_async(wire)))

    async def interrupt(self) -> t.TurnInterruptResponse:
        """Interrupts the turn."""
        return t.TurnInterruptResponse(json.loads(await self._core.interrupt_async()))

    def __repr__(self) -> str:
        return f"AsyncTurnHandle(thread_id={self.thread_id!r}, id={self.id!r})"


class AsyncThread:
    """A conversation (async)."""

    def __init__(self, codex: "AsyncCodex", core: Any):
        self._codex = codex
        self._core = core
        self.id: str = core.id

    async def run(
        self,
        input: RunInput,
        *,
        approval_mode: Optional[ApprovalMode] = None,
        cwd: Optional[str] = None,
        effort: Optional[str] = None,
        model: Optional[str] = None,
        output_schema: Optional[dict[str, Any]] = None,
        personality: Optional[str] = None,
        sandbox: Optional[Sandbox] = None,
        service_tier: Optional[str] = None,
        summary: Optional[str] = None,
    ) -> TurnResult:
        """Starts a turn and waits for its result."""
        handle = await self.turn(
            input,
            approval_mode=approval_mode,
            cwd=cwd,
            effort=effort,
            model=model,
            output_schema=output_schema,
            personality=personality,
            sandbox=sandbox,
            service_tier=service_tier,
            summary=summary,
        )
        return await handle.run()

    async def turn(
        self,
        input: RunInput,
        *,
        approval_mode: Optional[ApprovalMode] = None,
        cwd: Optional[str] = None,
        effort: Optional[str] = None,
        model: Optional[str] = None,
        output_schema: Optional[dict[str, Any]] = None,
        personality: Optional[str] = None,
        sandbox: Optional[Sandbox] = None,
        service_tier: Optional[str] = None,
        summary: Optional[str] = None,
    ) -> AsyncTurnHandle:
        """Starts a turn (or joins the running one) and returns its handle."""
        wire = json.dumps(_wire(input))
        kw = _turn_kw(approval_mode, cwd, effort, model, output_schema, personality, sandbox, service_tier, summary)
        return AsyncTurnHandle(await self._core.turn_async(wire, kw))

    async def read(self, *, include_turns: bool = False) -> t.ThreadReadResponse:
        """The thread's stored state."""
        return t.ThreadReadResponse(json.loads(await self._core.read_async(include_turns)))

    async def set_name(self, name: str) -> t.ThreadSetNameResponse:
        """Names the thread."""
        return t.ThreadSetNameResponse(json.loads(await self._core.set_name_async(name)))

    async def compact(self) -> t.ThreadCompactStartResponse:
        """Starts compacting the thread's history."""
        return t.ThreadCompactStartResponse(json.loads(await self._core.compact_async()))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AsyncThread) and other._codex is self._codex and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    def __repr__(self) -> str:
        return f"AsyncThread(id={self.id!r})"


class AsyncCodex:
    """A Codex runtime and the connection to it (asyncio).

    Starts lazily: on ``async with`` entry or the first awaited call. After ``close()``, the
    next call starts a new runtime.
    """

    def __init__(self, config: Optional[CodexConfig] = None):
        self._config = config if config is not None else CodexConfig()
        self._core: Any = None
        self._lock: Optional[asyncio.Lock] = None

    async def _client(self) -> Any:
        if self._core is None:
            if self._lock is None:
                self._lock = asyncio.Lock()
            async with self._lock:
                if self._core is None:
                    self._core = await _core.CoreClient.start_async(self._config._json())
        return self._core

    @property
    def metadata(self) -> t.InitializeResponse:
        """The runtime's ``initialize`` response; ``RuntimeError`` before the client started."""
        if self._core is None:
            raise RuntimeError("AsyncCodex is not started yet; use `async with AsyncCodex()` or await a call first")
        return t.InitializeResponse(json.loads(self._core.metadata_json()))

    async def close(self) -> None:
        """Stops the runtime (idempotent)."""
        core, self._core = self._core, None
        if core is not None:
            await core.close_async()

    async def __aenter__(self) -> "AsyncCodex":
        await self._client()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    async def login_api_key(self, api_key: str) -> None:
        """Logs in with an API key."""
        await (await self._client()).call_async("login_api_key", json.dumps(api_key))

    async def login_chatgpt(self) -> AsyncChatgptLoginHandle:
        """Starts a browser ChatGPT login."""
        return AsyncChatgptLoginHandle(await (await self._client()).login_chatgpt_async())

    async def login_chatgpt_device_code(self) -> AsyncDeviceCodeLoginHandle:
        """Starts a device-code ChatGPT login."""
        return AsyncDeviceCodeLoginHandle(await (await self._client()).login_chatgpt_device_code_async())

    async def account(self, *, refresh_token: bool = False) -> t.GetAccountResponse:
        """The account the runtime is logged in with."""
        raw = await (await self._client()).call_async("account", json.dumps(bool(refresh_token)))
        return t.GetAccountResponse(json.loads(raw))

    async def logout(self) -> None:
        """Logs out."""
        await (await self._client()).call_async("logout", "null")

    async def thread_start(
        self,
        *,
        approval_mode: ApprovalMode = ApprovalMode.auto_review,
        base_instructions: Optional[str] = None,
        config: Optional[dict[str, Any]] = None,
        cwd: Optional[str] = None,
        developer_instructions: Optional[str] = None,
        ephemeral: Optional[bool] = None,
        model: Optional[str] = None,
        model_provider: Optional[str] = None,
        personality: Optional[str] = None,
        sandbox: Optional[Sandbox] = None,
    ) -> AsyncThread:
        """Starts a new thread."""
        kw = _kw(
            approval_mode=approval_mode,
            base_instructions=base_instructions,
            config=config,
            cwd=cwd,
            developer_instructions=developer_instructions,
            ephemeral=ephemeral,
            model=model,
            model_provider=model_provider,
            personality=personality,
            sandbox=sandbox,
        )
        return AsyncThread(self, await (await self._client()).thread_start_async(kw))

    async def thread_list(
        self,
        *,
        archived: Optional[bool] = None,
        cursor: Optional[str] = None,
        cwd: Any = None,
        limit: Optional[int] = None,
        model_providers: Optional[list[str]] = None,
        sort_key: Optional[str] = None,
        source_kinds: Optional[list[str]] = None,
    ) -> t.ThreadListResponse:
        """One page of stored threads."""
        kw = _kw(
            archived=archived,
            cursor=cursor,
            cwd=cwd,
            limit=limit,
            model_providers=model_providers,
            sort_key=sort_key,
            source_kinds=source_kinds,
        )
        return t.ThreadListResponse(json.loads(await (await self._client()).thread_list_async(kw)))

    async def thread_resume(
        self,
        thread_id: str,
        *,
        approval_mode: ApprovalMode = ApprovalMode.auto_review,
        base_instructions: Optional[str] = None,
        config: Optional[dict[str, Any]] = None,
        cwd: Optional[str] = None,
        developer_instructions: Optional[str] = None,
        model: Optional[str] = None,
        model_provider: Optional[str] = None,
        personality: Optional[str] = None,
        sandbox: Optional[Sandbox] = None,
    ) -> AsyncThread:
        """Loads a stored thread so it can run turns."""
        kw = _kw(
            approval_mode=approval_mode,
            base_instructions=base_instructions,
            config=config,
            cwd=cwd,
            developer_instructions=developer_instructions,
            model=model,
            model_provider=model_provider,
            personality=personality,
            sandbox=sandbox,
        )
        return AsyncThread(self, await (await self._client()).thread_resume_async(thread_id, kw))

    async def thread_fork(
        self,
        thread_id: str,
        *,
        approval_mode: ApprovalMode = ApprovalMode.auto_review,
        base_instructions: Optional[str] = None,
        config: Optional[dict[str, Any]] = None,
        cwd: Optional[str] = None,
        developer_instructions: Optional[str] = None,
        ephemeral: Optional[bool] = None,
        model: Optional[str] = None,
        model_provider: Optional[str] = None,
        sandbox: Optional[Sandbox] = None,
    ) -> AsyncThread:
        """A new thread with a copy of this one's history."""
        kw = _kw(
            approval_mode=approval_mode,
            base_instructions=base_instructions,
            config=config,
            cwd=cwd,
            developer_instructions=developer_instructions,
            ephemeral=ephemeral,
            model=model,
            model_provider=model_provider,
            sandbox=sandbox,
        )
        return AsyncThread(self, await (await self._client()).thread_fork_async(thread_id, kw))

    async def thread_archive(self, thread_id: str) -> t.ThreadArchiveResponse:
        """Archives a thread."""
        raw = await (await self._client()).call_async("thread_archive", json.dumps(thread_id))
        return t.ThreadArchiveResponse(json.loads(raw))

    async def thread_unarchive(self, thread_id: str) -> AsyncThread:
        """Unarchives a thread and loads it."""
        return AsyncThread(self, await (await self._client()).thread_unarchive_async(thread_id))

    async def models(self, *, include_hidden: bool = False) -> t.ModelListResponse:
        """The models the runtime offers."""
        raw = await (await self._client()).call_async("models", json.dumps(bool(include_hidden)))
        return t.ModelListResponse(json.loads(raw))
