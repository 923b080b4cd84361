"""Structured logs: one JSON object per line, with only fields known to hold no personal data.

Why: whatever a process logs is kept by journald (and shipped by whoever collects it) for
months, outside the history's per-record encryption and erasure, so a traveller's name, birth
date or document number must never reach a log. Rather than trust every call site, the
formatter lets through only what is safe by construction:

- `event`: the message *template* as written in the code, with an argument substituted only
  when it is a number, a boolean, None, an enum member (a `Reason`, a step name...), a string
  that is a `Reason` code, or a value the caller wrapped in `safe(...)`; any other argument
  shows as ``<redacted>``. A template is a literal in the code, so it holds no traveller data.
- `reason`: the `extra={"reason": ...}` of the call, or the reason of a logged `ApplianceError`.
- extra fields: only the names in `SAFE_FIELDS`, only scalars (or lists of scalars), strings cut
  at 120 characters; any other `extra` key is dropped.
- exceptions: the type and where it was raised (module:line), never the message or locals.

Lines go to stderr (`setup_logging(stream=...)` to change it): journald takes a service's
stdout and stderr alike, and a command's stdout stays free for its result (`check --json`).
`APPLIANCE_LOG_LEVEL` (DEBUG, INFO, WARNING, ERROR; default INFO) sets the threshold.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import traceback
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import Enum
from typing import IO, Any

from appliance.errors import ApplianceError, Reason

#: `extra` keys that are emitted; everything else a call passes in `extra` is dropped
SAFE_FIELDS = frozenset(
    {
        "check_id",
        "command",
        "component",
        "count",
        "decision",
        "device_id",
        "duration_ms",
        "exit_code",
        "mode",
        "part",
        "policy_version",
        "reader_kind",
        "reasons",
        "status",
        "step",
        "total_ms",
    }
)
REDACTED = "<redacted>"
_MAX_TEXT = 120
_REASONS = frozenset(r.value for r in Reason)
_HANDLER_TAG = "_appliance_json_handler"


class safe(str):
    """A string argument the caller vouches holds no personal data (a port, a file name):
    ``log.info("opened %s", safe(port))``; lower case, as it reads as a marker at the call."""

    __slots__ = ()


def _safe_scalar(value: object) -> object:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, Enum):
        return value.value if isinstance(value.value, str | int | float) else value.name
    if isinstance(value, safe) or (isinstance(value, str) and value in _REASONS):
        return str(value)[:_MAX_TEXT]
    return REDACTED


def _field_value(value: object) -> object:
    if isinstance(value, list | tuple):
        return [_field_value(v) for v in value]
    if isinstance(value, str) and not isinstance(value, Enum):
        return value[:_MAX_TEXT]
    return _safe_scalar(value)


def _event(record: logging.LogRecord) -> str:
    template = record.msg if isinstance(record.msg, str) else REDACTED
    args = record.args
    if not args:
        return template
    try:
        if isinstance(args, Mapping):
            return template % {k: _safe_scalar(v) for k, v in args.items()}
        return template % tuple(_safe_scalar(a) for a in args)
    except (TypeError, ValueError, KeyError):
        return template


def _where(tb: Any) -> str | None:
    frames = traceback.extract_tb(tb)
    if not frames:
        return None
    last = frames[-1]
    module = os.path.splitext(os.path.basename(last.filename))[0]
    return f"{module}:{last.lineno}"


class JsonLineFormatter(logging.Formatter):
    """`time`, `level`, `logger`, `event`, `reason`, then the safe extra fields (see module)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "event": _event(record),
        }
        reason = getattr(record, "reason", None)
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            line["exception"] = type(exc).__name__
            where = _where(record.exc_info[2])
            if where:
                line["where"] = where
            if reason is None and isinstance(exc, ApplianceError):
                reason = exc.reason
        if reason is not None:
            line["reason"] = _safe_scalar(reason)
        for key in sorted(SAFE_FIELDS):
            if key in record.__dict__:
                line[key] = _field_value(record.__dict__[key])
        return json.dumps(line, separators=(",", ":"), default=lambda _: REDACTED)


class _StandardError(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is at the time of the record (a test runner swaps it)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def setup_logging(level: str | None = None, stream: IO[str] | None = None) -> logging.Handler:
    """Send every log record of the process as JSON lines to `stream` (default: stderr).

    Idempotent: a second call replaces the handler the first one installed (the CLI calls it
    per command; tests call it with their own stream).
    """
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, _HANDLER_TAG, False):
            root.removeHandler(old)
    handler: logging.Handler = (
        logging.StreamHandler(stream) if stream is not None else _StandardError()
    )
    handler.setFormatter(JsonLineFormatter())
    setattr(handler, _HANDLER_TAG, True)
    root.addHandler(handler)
    chosen = (level or os.environ.get("APPLIANCE_LOG_LEVEL") or "INFO").upper()
    root.setLevel(chosen if chosen in logging.getLevelNamesMapping() else "INFO")
    return handler
