"""Turn inputs: the official SDK's dataclasses and their wire form."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Union


@dataclass
class TextInput:
    """Plain text."""

    text: str


@dataclass
class ImageInput:
    """An image by URL (``https://...`` or a ``data:`` URL)."""

    url: str


@dataclass
class LocalImageInput:
    """An image file the runtime reads (relative paths resolve against the current directory)."""

    path: str


@dataclass
class SkillInput:
    """A skill by name and path."""

    name: str
    path: str


@dataclass
class MentionInput:
    """A mention (a file or resource) by name and path."""

    name: str
    path: str


@dataclass
class ExternalMessage:
    """A tool's output as a whole turn input (``toolOutput``): text, or a list of content items."""

    tool_name: str
    content: Union[str, list[Any]] = ""
    namespace: Union[str, None] = None


InputItem = Union[TextInput, ImageInput, LocalImageInput, SkillInput, MentionInput]
Input = Union[list[InputItem], InputItem]
RunInput = Union[Input, str, ExternalMessage]


def _item(item: Any) -> dict[str, Any]:
    if isinstance(item, str):
        return {"type": "text", "text": item}
    if isinstance(item, TextInput):
        return {"type": "text", "text": item.text}
    if isinstance(item, ImageInput):
        return {"type": "image", "url": item.url}
    if isinstance(item, LocalImageInput):
        return {"type": "localImage", "path": os.fspath(item.path)}
    if isinstance(item, SkillInput):
        return {"type": "skill", "name": item.name, "path": item.path}
    if isinstance(item, MentionInput):
        return {"type": "mention", "name": item.name, "path": item.path}
    raise TypeError(
        f"unsupported input item {item!r}; use a str, TextInput, ImageInput, LocalImageInput, "
        "SkillInput or MentionInput"
    )


def _wire(value: Any, *, external: bool = True) -> Any:
    """The wire form of a turn input (checked before anything is sent)."""
    if isinstance(value, ExternalMessage):
        if not external:
            raise TypeError("steer() does not take an ExternalMessage; pass text or input items")
        if not isinstance(value.tool_name, str) or not value.tool_name.strip():
            raise ValueError("ExternalMessage.tool_name must be a non-blank string")
        content = value.content
        if isinstance(content, list):
            content = [c if isinstance(c, dict) else _content_item(c) for c in content]
        return {"tool_name": value.tool_name, "content": content, "namespace": value.namespace}
    if isinstance(value, (list, tuple)):
        return [_item(v) for v in value]
    return [_item(value)]


def _content_item(item: Any) -> dict[str, Any]:
    dump = getattr(item, "model_dump", None)
    if dump is not None:
        return dump(by_alias=True)
    raise TypeError(f"unsupported ExternalMessage content item {item!r}; use a dict")
