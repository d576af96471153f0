"""Fuzzing the command line with hostile scenario files (issue 9), bounded to a few seconds.

Four sources of files — mutations of the example scenarios (fields replaced by hostile values,
deleted, added, arrays grown), examples with one field's type confused (4 → 4.0, "4", true),
random JSON, and damaged bytes of an example — go through the
real entry point, `simcore.cli.main`, in-process, with random commands and flags. Every outcome
must be either a valid result (exit 0 or 1, nothing on stderr, JSON that parses or text with no
control character) or bad input (exit 2, nothing on stdout, exactly one line on stderr). Any
exception escaping `main` fails the test with its traceback.

Derandomized (the same examples on every run); ``SIMCORE_FUZZ=N`` runs N examples per source
with fresh randomness.
"""

from __future__ import annotations

import io
import json
import os
import re
from pathlib import Path

import pytest
from cli_testlib import EXAMPLES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simcore.arch import ARCH_NAMES
from simcore.batch import MODES
from simcore.bugs import BUGS
from simcore.cli import main

EXAMPLE_DOCS = {p.stem: json.loads(p.read_text()) for p in sorted(EXAMPLES.glob("*.json"))}
_N = int(os.environ.get("SIMCORE_FUZZ", "0"))
FUZZ = settings(max_examples=_N or 150, derandomize=not _N, database=None, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])
#: what may act on a terminal: C0 but tab and newline, DEL, C1, lone surrogates
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")

# -- hostile values ---------------------------------------------------------------------------
_text = st.text(st.characters(codec="utf-8") | st.sampled_from("\x1b\x07\r\n\x9b\u202e"),
                max_size=12)
_scalars = st.one_of(
    st.none(), st.booleans(),
    st.integers(-3, 600), st.integers(-(1 << 70), 1 << 70),
    st.sampled_from([0, 1, 9, 10, 511, 512, 4096, 8192, 65536, 1 << 30, 1 << 31, (1 << 64) - 1,
                     1 << 64, 10 ** 40]),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([4.0, -0.0, 16.0, 1e308]),
    _text,
    st.sampled_from(["0x7f0000000000", "0x7f0000010000", "0x" + "f" * 17, "4096", "-1",
                     "99999999999999999999", "E" * 16, "N" * 16, "EN" * 256, "arm64",
                     "sparc64", "x86_64", "swap", "device_exclusive", "present", "dup_swap",
                     "pin", "arch_unmap_one", "task", "ENOMEM", "\ud800"]),
)


def _nested(depth: int):
    value: object = 0
    for _ in range(depth):
        value = [value]
    return value


_values = st.one_of(
    _scalars,
    st.recursive(_scalars, lambda c: st.lists(c, max_size=4)
                 | st.dictionaries(_text, c, max_size=3), max_leaves=8),
    st.integers(1, 40).map(_nested),
)


_DOMAIN_STRINGS = ["0x7f0000000000", "0x7f0000008000", "0x7f0000010000", "0x7f00001ff000",
                   "4096", "0x1000", "E" * 16, "N" * 16, "EEEEEEEENNNNNNNN", "E" * 8, "arm64",
                   "sparc64", "x86_64", "swap", "device_exclusive", "present", "dup_swap", "pin",
                   "arch_unmap_one", "task", "child", "parent", "ENOMEM", "EBUSY"]
_DOMAIN_KEYS = ["kind", "cont", "exclusive", "swapcache", "extra_refs", "page", "nr", "write",
                "dirty", "young", "soft_dirty", "uffd_wp", "locked", "droppable", "pinned",
                "bbml2", "adi", "defer_flush", "page_size", "error", "order", "pfn", "swapbacked"]


def _like(value):
    """Mostly a plausible replacement for ``value`` (same kind, near the valid range),
    sometimes any hostile value."""
    if isinstance(value, bool):
        plausible = st.booleans()
    elif isinstance(value, int):
        plausible = st.one_of(st.integers(value - 20, value + 20), st.integers(0, 520),
                              st.just(float(value)), st.just(float(value) + 0.5))
    elif isinstance(value, str):
        plausible = st.sampled_from(_DOMAIN_STRINGS) | _text
    else:
        plausible = _values
    return st.one_of(plausible, plausible, plausible, _values)


def _containers(doc, path=()):
    """Every (path, container) of a JSON document."""
    if isinstance(doc, dict | list):
        yield path, doc
        items = doc.items() if isinstance(doc, dict) else enumerate(doc)
        for k, v in items:
            yield from _containers(v, path + (k,))


@st.composite
def mutated_examples(draw) -> dict:
    doc = json.loads(json.dumps(EXAMPLE_DOCS[draw(st.sampled_from(sorted(EXAMPLE_DOCS)))]))
    for _ in range(draw(st.integers(0, 3))):
        places = list(_containers(doc))
        _path, box = draw(st.sampled_from(places))
        action = draw(st.sampled_from(["leaf", "leaf", "leaf", "set", "delete", "add", "grow"]))
        if action == "leaf":              # a field's value, the commonest mistake
            leaves = [(b, k) for _p, b in places
                      for k in (b if isinstance(b, dict) else range(len(b)))
                      if not isinstance(b[k], dict | list)]
            if leaves:
                box, key = draw(st.sampled_from(leaves))
                box[key] = draw(_like(box[key]))
            continue
        if isinstance(box, dict):
            keys = sorted(box)
            if action == "delete" and keys:
                del box[draw(st.sampled_from(keys))]
            elif action == "add" or not keys:
                key = draw(st.sampled_from(_DOMAIN_KEYS) | _text)
                box[key] = draw(_like(box[key]) if key in box else _values)
            else:
                key = draw(st.sampled_from(keys))
                box[key] = draw(_like(box[key]))
        else:
            if action == "delete" and box:
                box.pop(draw(st.integers(0, len(box) - 1)))
            elif action == "grow" and box:
                box.extend([box[-1]] * draw(st.sampled_from([1, 2, 63, 64, 65, 600])))
            elif action == "set" and box:
                i = draw(st.integers(0, len(box) - 1))
                box[i] = draw(_like(box[i]))
            else:
                box.append(draw(_values))
    return doc


def _confused(value):
    """The same value in a type the schema must not accept for it (4 → 4.0, "4", True)."""
    if isinstance(value, bool):
        return st.sampled_from([int(value), float(value), str(value).lower(), None])
    if isinstance(value, int):
        return st.sampled_from([float(value), str(value), bool(value), [value], value + 0.5,
                                -value - 1, float("nan")])
    if isinstance(value, str):
        return st.sampled_from([None, 0, [value], {value: value}, value + "\x1b[2J",
                                value * 600])
    return st.sampled_from([0, "", None])


@st.composite
def type_confused_examples(draw) -> dict:
    """An example with exactly one field's value changed to another type (or sign, or size):
    everything else stays valid, so the value reaches whatever uses it."""
    doc = json.loads(json.dumps(EXAMPLE_DOCS[draw(st.sampled_from(sorted(EXAMPLE_DOCS)))]))
    leaves = [(b, k) for _p, b in _containers(doc)
              for k in (b if isinstance(b, dict) else range(len(b)))
              if not isinstance(b[k], dict | list)]
    box, key = draw(st.sampled_from(leaves))
    box[key] = draw(_confused(box[key]))
    return doc


random_json = st.recursive(
    _scalars, lambda c: st.lists(c, max_size=5) | st.dictionaries(
        _text | st.sampled_from(["schema", "folio", "mms", "ptes", "faults", "arch", "name",
                                 "vmas", "order"]), c, max_size=5), max_leaves=25)


@st.composite
def damaged_bytes(draw) -> bytes:
    data = bytearray((EXAMPLES / f"{draw(st.sampled_from(sorted(EXAMPLE_DOCS)))}.json")
                     .read_bytes())
    for _ in range(draw(st.integers(1, 5))):
        at = draw(st.integers(0, len(data)))
        if draw(st.booleans()) and at < len(data):
            del data[at:at + draw(st.integers(1, 20))]
        else:
            data[at:at] = draw(st.sampled_from([b"[" * 3000, b"{\"a\":" * 1500, b"[", b"{",
                                                b"\xff", b"\xed\xa0\x80", b"1e999", b"\x1b[2J",
                                                b",", b"\"", b"99" * 30])
                               | st.binary(min_size=1, max_size=8))
    return bytes(data)


@st.composite
def argv_for(draw, path: Path) -> list[str]:
    command = draw(st.sampled_from(["check", "run", "run", "compare"]))
    argv = [command, str(path)]
    if draw(st.booleans()):
        argv.append("--json")
    if command == "compare":
        for m in draw(st.lists(st.sampled_from(MODES), max_size=2)):
            argv += ["--mode", m]
    elif draw(st.booleans()):
        argv += ["--mode", draw(st.sampled_from(MODES))]
    if draw(st.integers(0, 4)) == 0:
        argv += ["--arch", draw(st.sampled_from(ARCH_NAMES))]
    if command == "run" and draw(st.booleans()):
        argv.append("--trace")
    if command != "check" and draw(st.integers(0, 3)) == 0:
        argv += ["--bug", draw(st.sampled_from(sorted(BUGS)))]
    return argv


# -- the property --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def scenario_path(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz") / "scenario.json"


def _check_outcome(argv: list[str]) -> None:
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, out=out, err=err)
    out, err = out.getvalue(), err.getvalue()
    if code == 2:
        assert out == "", out[:300]
        assert err.startswith("simcore: ") and err.endswith("\n") and err.count("\n") == 1, err
        assert not RAW_CONTROL.search(err), err
    else:
        assert code in (0, 1), (code, err)
        assert err == "" and out, err
        if "--json" in argv:
            json.loads(out)
        else:
            assert not RAW_CONTROL.search(out), out[:300]


@settings(FUZZ, max_examples=_N or 100)       # (the slowest source: most of its files run)
@given(doc=mutated_examples(), data=st.data())
def test_fuzz_mutated_examples(scenario_path, doc, data):
    scenario_path.write_text(json.dumps(doc))
    _check_outcome(data.draw(argv_for(scenario_path)))


@FUZZ
@given(doc=type_confused_examples(), data=st.data())
def test_fuzz_type_confused_fields(scenario_path, doc, data):
    scenario_path.write_text(json.dumps(doc))
    _check_outcome(data.draw(argv_for(scenario_path)))


@FUZZ
@given(doc=random_json, data=st.data())
def test_fuzz_random_json(scenario_path, doc, data):
    if isinstance(doc, dict) and data.draw(st.booleans()):
        doc["schema"] = "simcore.scenario/1"
    scenario_path.write_text(json.dumps(doc))
    _check_outcome(data.draw(argv_for(scenario_path)))


@FUZZ
@given(raw=damaged_bytes(), data=st.data())
def test_fuzz_damaged_bytes(scenario_path, raw, data):
    scenario_path.write_bytes(raw)
    _check_outcome(data.draw(argv_for(scenario_path)))
