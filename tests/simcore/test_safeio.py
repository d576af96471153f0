"""`simcore.safeio`: bounded reading, bounded JSON, escaped printing (issue 9)."""

from __future__ import annotations

import io
import json
import os
import threading

import pytest

from simcore.safeio import (
    EXIT_INTERRUPTED,
    InputError,
    SafeWriter,
    depth,
    escape,
    interrupted,
    load_json,
    read_bytes,
    read_text,
)


# -- reading ------------------------------------------------------------------------------------
def test_reads_a_regular_file(tmp_path):
    p = tmp_path / "a.json"
    p.write_text('{"é": 1}')
    assert read_text(p, 100) == '{"é": 1}'


def test_refuses_a_directory(tmp_path):
    with pytest.raises(InputError, match=r": cannot read \(it is a directory\)$"):
        read_bytes(tmp_path, 100)


def test_refuses_a_character_device_without_reading_it():
    with pytest.raises(InputError, match=r"/dev/zero: cannot read \(it is a character device, "
                       r"not a regular file\)"):
        read_bytes("/dev/zero", 1 << 20)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo")
def test_refuses_a_fifo_without_blocking(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    outcome: list[BaseException | bytes] = []
    reader = threading.Thread(target=lambda: outcome.append(_attempt(fifo)), daemon=True)
    reader.start()
    reader.join(10)
    if reader.is_alive():                   # unblock the thread before failing
        with open(fifo, "wb"):
            pass
        pytest.fail("reading a FIFO blocked")
    assert isinstance(outcome[0], InputError)
    assert str(outcome[0]).endswith("cannot read (it is a FIFO, not a regular file)")


def _attempt(path):
    try:
        return read_bytes(path, 100)
    except InputError as e:
        return e


def test_missing_file_names_the_path():
    with pytest.raises(InputError, match=r"^/nonexistent/x: cannot read \(No such file"):
        read_bytes("/nonexistent/x", 100)


def test_size_limit_is_exact(tmp_path):
    p = tmp_path / "big"
    p.write_bytes(b"x" * 101)
    with pytest.raises(InputError, match=r"too large \(101 bytes; a test file is at most 100 "):
        read_bytes(p, 100, "test file")
    p.write_bytes(b"x" * 100)
    assert len(read_bytes(p, 100)) == 100


def test_a_proc_file_with_size_zero_is_read_to_its_end():
    status = "/proc/self/status"
    if not os.path.exists(status):
        pytest.skip("no /proc")
    assert os.stat(status).st_size == 0
    assert "Name:" in read_text(status, 1 << 20)
    with pytest.raises(InputError, match="more than 10 bytes"):
        read_bytes(status, 10)


def test_not_utf8_names_the_byte(tmp_path):
    p = tmp_path / "latin1.json"
    p.write_bytes('{"name": "café"}'.encode("latin-1"))
    with pytest.raises(InputError, match=r"latin1.json: not UTF-8 text \(byte 13 is 0xe9\)"):
        read_text(p, 100)


# -- JSON ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("levels", [17, 100_000])
def test_json_nested_too_deep(levels):
    with pytest.raises(InputError, match=r"^f: JSON nested too deeply \(at most 16 levels\)$"):
        load_json("[" * levels + "]" * levels, "f", 16)


def test_json_depth_limit_is_exact():
    assert load_json("[" * 16 + "]" * 16, "f", 16) == json.loads("[" * 16 + "]" * 16)
    assert depth({"a": [{"b": 1}]}) == 3 and depth(5) == 0 and depth([]) == 1


def test_json_long_integers_are_refused_before_python_converts_them():
    with pytest.raises(InputError, match=r"^f: an integer with 5,000 digits \(at most 40\)$"):
        load_json('{"a": ' + "9" * 5000 + "}", "f", 16)
    assert load_json(str(-(10 ** 39)), "f", 16) == -(10 ** 39)


def test_json_syntax_error_is_one_line():
    with pytest.raises(InputError, match=r"^f: not valid JSON \(line 2, column 1: "):
        load_json('{"a": 1,\n}', "f", 16)


# -- printing -----------------------------------------------------------------------------------
@pytest.mark.parametrize("raw, shown", [
    ("\x1b]0;pwned\x07", "\\x1b]0;pwned\\x07"),          # OSC: set the window title
    ("\x1b[2J\x1b[31mFAKE", "\\x1b[2J\\x1b[31mFAKE"),     # clear screen, red
    ("\x9b31m", "\\x9b31m"),                              # C1 CSI
    ("ok\rFAKE", "ok\\rFAKE"),                            # overwrite the line
    ("abc\u202edcba", "abc\\u202edcba"),                  # right-to-left override
    ("a\u2028b", "a\\u2028b"),                            # line separator
    ("\ud800", "\\ud800"),                                # lone surrogate
    ("\x00\x7f", "\\x00\\x7f"),
    ("tab\tand\nnewline", "tab\tand\nnewline"),
    ("café — 64 KiB ✓", "café — 64 KiB ✓"),
])
def test_escape(raw, shown):
    assert escape(raw) == shown


def test_escape_one_line():
    assert escape("a\nb\tc\x1b", one_line=True) == "a\\nb\\tc\\x1b"


def test_safe_writer_never_fails_on_an_encoding():
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="ascii")
    w = SafeWriter(stream)
    w.write("café \ud800 \x1b[2J\n")
    w.flush()
    assert raw.getvalue() == b"caf\\xe9 \\ud800 \\x1b[2J\n"


def test_interrupted():
    err = io.StringIO()
    assert interrupted("prog", err) == EXIT_INTERRUPTED == 130
    assert err.getvalue() == "prog: interrupted\n"
