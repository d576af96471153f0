"""Input and output hygiene for the command lines: bounded reading, bounded JSON, safe printing.

Nothing here models the kernel. These are the few rules every command that reads a file a user
names and prints what it found must follow (issue 9, "hostile input"):

- `read_text()` reads only a regular file (a FIFO, a device such as ``/dev/zero``, a socket or a
  directory is refused without blocking on it), at most ``limit`` bytes, as UTF-8;
- `load_json()` parses JSON with a bound on nesting depth and on the digits of an integer (the
  standard parser otherwise raises RecursionError about 1,000 levels down, and ValueError past
  4,300 digits);
- `escape()` makes text safe for a terminal: control characters (C0 and C1, including ESC, so
  no escape sequence reaches the terminal), bidirectional overrides, line separators and lone
  surrogates become visible ``\\x1b`` / ``\\u202e`` / ``\\ud800`` escapes; `SafeWriter` applies
  it to everything written to a stream and never fails on a character the stream's encoding
  lacks; `one_line()` is an error message as one escaped, bounded line;
- `interrupted()` is the one line and exit status 130 of a command stopped by Ctrl-C.

Every problem is an `InputError` (a ValueError) whose message is one line ``<source>: <problem>``.
"""

from __future__ import annotations

import json
import os
import re
import stat
from typing import Any, TextIO

#: Exit status of a command ended by SIGINT (128 + 2), as a shell reports it.
EXIT_INTERRUPTED = 130


class InputError(ValueError):
    """An input that cannot be read or parsed; the message is one line naming the source."""


# -- reading ------------------------------------------------------------------------------------
_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))


def _kind(mode: int) -> str:
    kind = next((name for test, name in _KINDS if test(mode)), None)
    if kind == "a directory":
        return "it is a directory"
    return f"it is {kind}, not a regular file" if kind else "not a regular file"


def read_bytes(path: str | os.PathLike, limit: int, what: str = "file") -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them.

    The file is opened non-blocking and checked with ``fstat`` on the open descriptor, so a
    FIFO never blocks and a file swapped for a device between a check and the open is still
    refused. ``what`` names the kind of file in the size message ("a scenario file is at most…").
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as e:
        raise InputError(f"{path}: cannot read ({e.strerror or e})") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise InputError(f"{path}: cannot read ({_kind(st.st_mode)})")
        if st.st_size > limit:
            raise InputError(f"{path}: too large ({st.st_size:,} bytes; a {what} is at most "
                             f"{limit:,} bytes)")
        chunks, size = [], 0
        while size <= limit:            # a file in /proc says size 0; one growing lies too
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as e:
        raise InputError(f"{path}: cannot read ({e.strerror or e})") from None
    finally:
        os.close(fd)
    if size > limit:
        raise InputError(f"{path}: too large (more than {limit:,} bytes; a {what} is at most "
                         f"{limit:,} bytes)")
    return b"".join(chunks)


def read_text(path: str | os.PathLike, limit: int, what: str = "file") -> str:
    """`read_bytes()` decoded as UTF-8; other bytes are an `InputError` naming the offset."""
    data = read_bytes(path, limit, what)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError(f"{path}: not UTF-8 text (byte {e.start:,} is {data[e.start]:#04x})") \
            from None


# -- JSON -----------------------------------------------------------------------------------------
class _LongNumber(Exception):
    def __init__(self, digits: int) -> None:
        self.digits = digits


def load_json(text: str, source: str, max_depth: int, max_digits: int = 40) -> Any:
    """``json.loads(text)`` with at most ``max_depth`` nested arrays/objects and integers of at
    most ``max_digits`` digits (40 digits hold any 128-bit number); errors name ``source``."""
    def bounded_int(digits: str) -> int:
        if len(digits.lstrip("-")) > max_digits:
            raise _LongNumber(len(digits.lstrip("-")))
        return int(digits)

    too_deep = f"{source}: JSON nested too deeply (at most {max_depth} levels)"
    try:
        doc = json.loads(text, parse_int=bounded_int)
    except json.JSONDecodeError as e:
        raise InputError(f"{source}: not valid JSON (line {e.lineno}, column {e.colno}: "
                         f"{e.msg})") from None
    except _LongNumber as e:
        raise InputError(f"{source}: an integer with {e.digits:,} digits (at most "
                         f"{max_digits})") from None
    except RecursionError:
        raise InputError(too_deep) from None
    if depth(doc, max_depth) > max_depth:
        raise InputError(too_deep)
    return doc


def depth(obj: Any, stop: int | None = None) -> int:
    """Nesting depth of lists and dicts in ``obj`` (a scalar is 0, ``[]`` is 1), without
    recursion; with ``stop`` it returns as soon as the depth exceeds it."""
    deepest = 0
    todo = [(obj, 1)]
    while todo:
        value, level = todo.pop()
        if isinstance(value, dict):
            value = value.values()
        elif not isinstance(value, list):
            continue
        deepest = max(deepest, level)
        if stop is not None and deepest > stop:
            return deepest
        todo.extend((v, level + 1) for v in value if isinstance(v, dict | list))
    return deepest


# -- printing -------------------------------------------------------------------------------------
# C0 controls but tab and newline, DEL and C1 (ESC, CSI, OSC...), the bidirectional and line
# separator format characters (which reorder or break what follows), and lone surrogates
# (not encodable: `print()` would raise UnicodeEncodeError).
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029"
                     "\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_UNSAFE_IN_LINE = re.compile(_UNSAFE.pattern[:-1] + "\n\t]")


def _visible(m: re.Match) -> str:
    c = ord(m.group())
    return {9: "\\t", 10: "\\n", 13: "\\r"}.get(c) or (f"\\x{c:02x}" if c < 0x100
                                                      else f"\\u{c:04x}")


def escape(text: str, one_line: bool = False) -> str:
    """``text`` with every character that could act on a terminal shown as an escape.

    Newlines and tabs stay, unless ``one_line``: then they are escaped too, so an error message
    built from a hostile name is still exactly one line.
    """
    return (_UNSAFE_IN_LINE if one_line else _UNSAFE).sub(_visible, text)


def one_line(message: str, limit: int = 300) -> str:
    """An error message as one escaped line of at most ``limit`` characters (a message may
    quote what the user gave, and that may be a 5,000-digit number or a page of text)."""
    line = escape(message, one_line=True)
    return line if len(line) <= limit else line[:limit - 3] + "..."


class SafeWriter:
    """A text stream wrapper that writes `escape()`-d text and never raises UnicodeEncodeError
    (characters the stream's encoding lacks are written as ``\\N`` escapes)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        enc = (getattr(stream, "encoding", None) or "utf-8").lower().replace("_", "-")
        self.encoding = None if enc in ("utf-8", "utf8") else enc

    def write(self, text: str) -> int:
        text = escape(text)
        if self.encoding:
            try:
                text = text.encode(self.encoding, "backslashreplace").decode(self.encoding)
            except LookupError:
                self.encoding = None
        return self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def interrupted(prog: str, err: TextIO) -> int:
    """Ctrl-C: print ``<prog>: interrupted`` and return 130 (no traceback)."""
    try:
        err.write(f"{prog}: interrupted\n")
        err.flush()
    except (OSError, ValueError):
        pass
    return EXIT_INTERRUPTED
