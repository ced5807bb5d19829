"""``CodexConfig`` and where the runtime comes from."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence


@dataclass
class CodexConfig:
    """How the client starts the runtime. Every field is optional.

    The official SDK's fields (``codex_bin``, ``launch_args_override``, ``config_overrides``,
    ``cwd``, ``env``, ``client_name``, ``client_title``, ``client_version``, ``experimental_api``)
    mean what they mean there. The last three are the Rust core's watchdogs, in seconds:
    ``request_timeout`` bounds every request, ``turn_stall_timeout`` interrupts a turn that sends
    nothing that long (``TurnStalledError``), ``shutdown_grace`` is how long ``close()`` waits for
    the runtime to exit before it is terminated.
    """

    codex_bin: Optional[str] = None
    launch_args_override: Optional[Sequence[str]] = None
    config_overrides: Sequence[str] = ()
    cwd: Optional[str] = None
    env: Optional[Mapping[str, str]] = None
    client_name: Optional[str] = None
    client_title: Optional[str] = None
    client_version: Optional[str] = None
    experimental_api: Optional[bool] = None
    request_timeout: Optional[float] = None
    turn_stall_timeout: Optional[float] = None
    shutdown_grace: Optional[float] = None

    def _json(self) -> str:
        codex_bin = self.codex_bin
        if codex_bin is not None:
            codex_bin = os.fspath(codex_bin)
            # The official SDK's check and words: a named binary must exist.
            if self.launch_args_override is None and not Path(codex_bin).exists():
                from ._errors import RuntimeNotFoundError

                raise RuntimeNotFoundError(
                    f"Codex runtime not found at {codex_bin}; fix CodexConfig.codex_bin "
                    "(or leave it unset to use the bundled openai-codex-cli-bin runtime)"
                )
        elif self.launch_args_override is None and not os.environ.get("CODEX_BIN"):
            codex_bin = bundled_runtime()
        return json.dumps(
            {
                "codex_bin": codex_bin,
                "launch_args_override": list(self.launch_args_override) if self.launch_args_override is not None else None,
                "config_overrides": list(self.config_overrides or ()),
                "cwd": os.fspath(self.cwd) if self.cwd is not None else None,
                "env": dict(self.env) if self.env is not None else None,
                "client_name": self.client_name,
                "client_title": self.client_title,
                "client_version": self.client_version,
                "experimental_api": self.experimental_api,
                "request_timeout": self.request_timeout,
                "turn_stall_timeout": self.turn_stall_timeout,
                "shutdown_grace": self.shutdown_grace,
            }
        )


def bundled_runtime() -> Optional[str]:
    """The ``codex`` binary of the installed ``openai-codex-cli-bin`` package, if there is one.

    This is the runtime the package depends on (``openai-codex-cli-bin==0.163.0``), so it comes
    before every runtime the Rust core would look for (the project store, ``PATH``, its own
    install). An explicit ``CodexConfig.codex_bin`` or ``CODEX_BIN`` still wins.
    """
    try:
        import codex_cli_bin  # type: ignore[import-not-found]
    except ImportError:
        return None
    roots = [Path(p) for p in getattr(codex_cli_bin, "__path__", [])]
    if getattr(codex_cli_bin, "__file__", None):
        roots.append(Path(codex_cli_bin.__file__).parent)
    name = "codex.exe" if os.name == "nt" else "codex"
    for root in roots:
        entry = "bin/" + name
        meta = root / "codex-package.json"
        if meta.is_file():
            try:
                entry = json.loads(meta.read_text()).get("entrypoint", entry)
                if os.name == "nt" and not entry.endswith(".exe"):
                    entry += ".exe"
            except (OSError, ValueError):
                pass
        candidate = root / entry
        if candidate.is_file():
            return str(candidate)
    return None
