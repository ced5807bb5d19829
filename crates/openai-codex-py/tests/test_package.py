"""The package itself: the seed's names at top level, the bundled runtime found first, types."""

from __future__ import annotations

import os

import openai_codex_rs
from openai_codex_rs import Codex, CodexConfig
from openai_codex_rs._config import bundled_runtime
from openai_codex_rs.types import Model

SEED_NAMES = [
    "Codex", "AsyncCodex", "CodexConfig", "ApprovalMode", "Sandbox", "ChatgptLoginHandle",
    "DeviceCodeLoginHandle", "AsyncChatgptLoginHandle", "AsyncDeviceCodeLoginHandle", "Thread",
    "AsyncThread", "TurnHandle", "AsyncTurnHandle", "TurnResult", "Input", "InputItem", "RunInput",
    "TextInput", "ImageInput", "LocalImageInput", "SkillInput", "MentionInput", "retry_on_overload",
    "JsonRpcError", "MethodNotFoundError", "InvalidParamsError", "ServerBusyError",
    "is_retryable_error", "CodexError", "TransportClosedError", "CodexRpcError", "ParseError",
    "InvalidRequestError", "InternalRpcError", "RetryLimitExceededError",
]
SEED_TYPES = [
    "Account", "AccountLoginCompletedNotification", "CancelLoginAccountResponse",
    "CancelLoginAccountStatus", "GetAccountResponse", "InitializeResponse", "ThreadItem",
    "ThreadTokenUsage", "TurnError", "TurnStatus", "ThreadReadResponse", "Turn",
]


def test_the_seed_names_are_exported():
    missing = [n for n in SEED_NAMES if not hasattr(openai_codex_rs, n)]
    assert not missing
    assert not [n for n in SEED_TYPES if not hasattr(openai_codex_rs.types, n)]
    assert openai_codex_rs.__version__ and openai_codex_rs.PINNED_RUNTIME_VERSION == "0.163.0"


def test_the_bundled_runtime_is_found_first(model):
    bundled = bundled_runtime()
    assert bundled is not None and bundled.endswith(os.path.join("codex_cli_bin", "bin", "codex"))
    with Codex(CodexConfig(env=model.env, cwd=model.workspace)) as codex:
        assert codex.metadata.binary == bundled
        assert "0.163.0" in codex.metadata.user_agent


def test_model_attribute_access_and_dump():
    m = Model({"threadId": "t1", "tokenUsage": {"inputTokens": 3}, "items": [{"type": "x"}]})
    assert m.thread_id == "t1" and m.threadId == "t1"
    assert m.token_usage.input_tokens == 3 and m.items[0].type == "x"
    assert m.missing is None
    assert m.model_dump() == {"thread_id": "t1", "token_usage": {"input_tokens": 3}, "items": [{"type": "x"}]}
    assert m.model_dump(by_alias=True)["tokenUsage"] == {"inputTokens": 3}
