"""Reading the target's input: blank lines and a BOM tolerated, a bad line named by number, SIGTERM honoured.

Why our own reader: singer-sdk's stops with a traceback that quotes the line (contact data) on a blank line
or a UTF-8 BOM, and gives no line number; and a SIGTERM must stop the run between lines or batches, never
inside one, so every record read ends with exactly one result line.
"""

from __future__ import annotations

import json
import typing as t

from singer_sdk.exceptions import RecordsWithoutSchemaException
from singer_sdk.singerlib.encoding.base import SingerMessageType
from singer_sdk.singerlib.encoding.simple import SimpleSingerReader
from singer_sdk.singerlib.exceptions import InvalidInputLine
from singer_sdk.singerlib.json import deserialize_json

BOM = "\ufeff"
MESSAGE_TYPES = frozenset(m.value for m in SingerMessageType)


def _is_tty(stream: t.Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


class UnreadableInput(Exception):
    """An input line that is not a Singer message (its content is never shown: it may be contact data)."""


class Terminated(BaseException):
    """SIGTERM (or SIGINT) asked the target to stop (a BaseException: no ``except Exception`` takes it)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class MauticSingerReader(SimpleSingerReader):
    """Line-numbered reading; ``stop_signal`` set by a signal handler is honoured between lines."""

    def __init__(self) -> None:
        super().__init__()
        self.line_number = 0
        self.waiting = False  # blocked reading the next line: a signal may stop the run at once
        self.stop_signal: int | None = None
        self.source: t.Iterator[str] | None = None  # the input being read (the rest is read by rest())
        self.key_properties: dict[str, list[str]] = {}  # per stream, from its last SCHEMA message

    def check_stop(self) -> None:
        if self.stop_signal is not None:
            raise Terminated(self.stop_signal)

    def _lines(self, file_input: t.IO[str]) -> t.Iterator[str]:
        lines = iter(file_input)
        if not _is_tty(file_input):
            self.source = lines
        while True:
            self.waiting = True
            try:
                self.check_stop()
                line = next(lines)
            except StopIteration:
                return
            finally:
                self.waiting = False
            self.line_number += 1
            yield line

    def process_lines(
        self, file_input: t.IO[str] | None, callbacks: dict[str, t.Callable[[dict], None]]
    ) -> t.Counter[str]:
        stats: t.Counter[str] = t.Counter()
        for raw in self._lines(file_input or self.default_input):
            line = raw.lstrip(BOM) if self.line_number == 1 else raw
            if not line.strip():
                continue
            message = self.deserialize_json(line)
            kind = message.get("type") if isinstance(message, dict) else None
            if kind not in MESSAGE_TYPES:
                shown = f"type {kind!r}" if isinstance(kind, str) and len(kind) < 40 else "no message type"
                raise UnreadableInput(f"line {self.line_number} is not a Singer message ({shown})")
            if kind == "SCHEMA":
                self.note_schema(message)
            callback = callbacks.get(kind)
            try:
                if callback is not None:
                    callback(message)
            except RecordsWithoutSchemaException as exc:
                raise RecordsWithoutSchemaException(f"line {self.line_number}: {exc}") from None
            except InvalidInputLine as exc:  # its text quotes the line: only the reason is kept
                raise UnreadableInput(f"line {self.line_number}: {str(exc).split(':', 1)[0]}") from None
            stats[kind] += 1
            self.check_stop()
        return stats

    def note_schema(self, message: dict) -> None:
        keys = message.get("key_properties")
        if isinstance(message.get("stream"), str) and isinstance(keys, list):
            self.key_properties[message["stream"]] = [k for k in keys if isinstance(k, str)]

    def rest(self) -> t.Iterator[tuple[str, dict[str, t.Any]]]:
        """``(stream, record)`` of every RECORD message left in the input (the run stopped: they are read
        only to be reported, never loaded); SCHEMA messages update :attr:`key_properties`; lines that are
        not Singer messages are passed over. Nothing when the input is a terminal (it may never end)."""
        if self.source is None:
            return
        lines, self.source = self.source, None
        try:
            for line in lines:
                try:
                    message = deserialize_json(line.lstrip(BOM))
                except (ValueError, RecursionError, UnicodeError):
                    continue
                if not isinstance(message, dict):
                    continue
                if message.get("type") == "SCHEMA":
                    self.note_schema(message)
                elif (message.get("type") == "RECORD" and isinstance(message.get("stream"), str)
                      and isinstance(message.get("record"), dict)):
                    yield message["stream"], message["record"]
        except (OSError, ValueError, UnicodeError):  # an input that breaks off: what was read is reported
            return

    def deserialize_json(self, line: str) -> dict:
        """The SDK's parsing (decimals kept exact), without its logging of the line."""
        try:
            return deserialize_json(line)
        except (json.JSONDecodeError, RecursionError, UnicodeError) as exc:
            where = f" at column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
            raise UnreadableInput(f"line {self.line_number} is not valid JSON{where}") from None
