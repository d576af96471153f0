"""The scenario JSON Schema, `scenario.validate`'s one-line messages, and `random_scenario`."""

from __future__ import annotations

import json

import jsonschema
import pytest
from cli_testlib import EXAMPLES

from simcore.api import run
from simcore.batch import MODES
from simcore.random_scenario import random_scenario
from simcore.scenario import SCHEMA_PATH, ScenarioError, from_dict, validate

SCHEMA = json.loads(SCHEMA_PATH.read_text())


def test_schema_is_a_valid_draft_2020_12_schema():
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def _schema_nodes(node, where="schema"):
    """(where, node) of every object (dict) in a schema."""
    if isinstance(node, dict):
        yield where, node
        for k, v in node.items():
            yield from _schema_nodes(v, f"{where}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _schema_nodes(v, f"{where}[{i}]")


def _object_schemas(node):
    return [(where, n) for where, n in _schema_nodes(node)
            if "properties" in n and n.get("type") == "object"]


def test_every_schema_number_is_a_bounded_integer():
    """Hostile input (issue 9), held generically so a field added later is too: a number in
    the schema is an integer with a maximum (the validator counts no float as one), an enum or
    const of numbers says "integer" too (an enum alone lets 4096.0 equal 4096), and every array
    and string has a maximum size."""
    integers = 0
    for where, node in _schema_nodes(SCHEMA):
        kinds = node.get("type") if isinstance(node.get("type"), list) else [node.get("type")]
        assert "number" not in kinds, f"{where}: a scenario has no real numbers; use 'integer'"
        numeric = [v for v in node.get("enum", []) + [node.get("const")]
                   if isinstance(v, int | float) and not isinstance(v, bool)]
        if numeric or "minimum" in node or "maximum" in node:
            assert node.get("type") == "integer", f"{where}: numbers must say 'type': 'integer'"
        if node.get("type") == "integer":
            integers += 1
            assert "maximum" in node or "enum" in node, f"{where}: an integer needs a maximum"
        if node.get("type") == "array":
            assert "maxItems" in node, f"{where}: an array needs maxItems"
        if node.get("type") == "string" and "enum" not in node and "const" not in node:
            assert "maxLength" in node, f"{where}: a string needs maxLength"
    assert integers >= 6


def test_every_object_rejects_unknown_fields():
    objects = list(_object_schemas(SCHEMA))
    assert len(objects) >= 7      # scenario, arch, folio, vma, mm, pte_run, fault
    for where, node in objects:
        assert node.get("additionalProperties") is False, where


def test_the_schema_names_the_design_fields():
    d = SCHEMA["$defs"]
    assert set(SCHEMA["properties"]) == {"schema", "name", "description", "caller", "arch",
                                         "folio", "mms", "ptes", "faults"}
    assert set(d["arch"]["properties"]) == {"name", "page_size", "bbml2", "defer_flush", "adi"}
    assert set(d["folio"]["properties"]) == {"order", "pfn", "swapbacked", "dirty", "exclusive",
                                             "pinned", "extra_refs", "swapcache",
                                             "swap_refs_elsewhere"}
    assert set(d["pte_run"]["properties"]) == {"mm", "addr", "page", "nr", "kind", "write",
                                               "dirty", "young", "soft_dirty", "uffd_wp", "cont",
                                               "exclusive"}
    assert d["pte_run"]["properties"]["kind"]["enum"] == ["present", "swap", "device_exclusive"]
    assert d["fault"]["properties"]["op"]["enum"] == ["dup_swap", "arch_unmap_one", "pin"]


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.json")), ids=lambda p: p.stem)
def test_examples_are_valid(example):
    doc = json.loads(example.read_text())
    validate(doc)
    from_dict(doc)


def test_every_field_at_once_validates_and_builds():
    doc = {
        "schema": "simcore.scenario/1", "name": "all fields", "description": "every field",
        "caller": "reclaim",
        "arch": {"name": "x86_64", "page_size": 4096, "bbml2": False, "defer_flush": False,
                 "adi": False},
        "folio": {"order": 4, "pfn": 4096, "swapbacked": True, "dirty": False,
                  "exclusive": "EEEENNNNNNNNNNNN", "pinned": False, "extra_refs": 1,
                  "swapcache": True, "swap_refs_elsewhere": [0] * 9 + [62] + [0] * 6},
        "mms": [{"name": "a", "vmas": [{"start": "0x10000", "end": 0x30000, "locked": False,
                                        "droppable": False}]},
                {"name": "b", "vmas": [{"start": "65536", "end": "0x20000"}]}],
        "ptes": [{"mm": "a", "addr": "0x10000", "page": 0, "nr": 4, "kind": "present",
                  "write": True, "dirty": True, "young": True, "soft_dirty": True,
                  "uffd_wp": False, "cont": False},
                 {"mm": "a", "addr": "0x14000", "page": 4, "nr": 4, "kind": "swap",
                  "exclusive": False, "soft_dirty": True, "uffd_wp": True},
                 {"mm": "b", "addr": 0x18000, "page": 8, "nr": 8, "write": False},
                 {"mm": "a", "addr": "0x18000", "page": 8, "kind": "device_exclusive",
                  "soft_dirty": False, "uffd_wp": False}],
        "faults": [{"op": "dup_swap", "page": 9, "error": "ENOMEM"},
                   {"op": "pin", "page": 12, "error": "EBUSY"},
                   {"op": "arch_unmap_one", "page": 1}],
    }
    validate(doc)
    sys = from_dict(doc)
    assert not sys.arch.bbml2 and not sys.arch.defer_flush and sys.arch.tlb_policy == "immediate"
    for mode in MODES:
        assert run(sys, mode).violations == []


MESSAGES = [
    ({"ptes": [{"mm": "task", "addr": 0, "nr": -3}]},
     "ptes[0].nr: -3 is less than the minimum of 1"),
    ({"folio": {"exclusive": "EEX"}}, "folio.exclusive: 'EEX' does not match '^[EN]+$'"),
    ({"folio": {"order": 10}}, "folio.order: 10 is greater than the maximum of 9"),
    ({"folio": {"colour": "red"}}, "folio.colour: unknown field (allowed: dirty, exclusive, "
                                   "extra_refs, order, pfn, pinned, swap_refs_elsewhere, "
                                   "swapbacked, swapcache)"),
    ({"arch": {"name": "arm64", "granule": 4096}}, "arch.granule: unknown field"),
    ({"arch": {"page_size": 4096}}, "arch.name: required field is missing"),
    ({"arch": {"name": "arm64", "page_size": 12288}},
     "arch.page_size: 12288 is not one of 4096, 8192, 16384, 65536"),
    ({"folio": {"pfn": -16}}, "folio.pfn: expected a non-negative integer or a hex string"),
    ({"folio": {"pinned": "yes"}}, "folio.pinned: 'yes' is not of type 'boolean'"),
    ({"mms": []}, "mms: [] should be non-empty"),
    ({"mms": [{"name": "task", "vmas": [{"start": 0, "end": 4096, "lock": True}]}]},
     "mms[0].vmas[0].lock: unknown field"),
    ({"ptes": [{"mm": "task", "addr": 0, "kind": "device_exclusive", "dirty": True}]},
     "ptes[0].dirty: does not apply to a device-exclusive entry"),
    ({"ptes": [{"mm": "task", "addr": 0, "exclusive": True}]},
     "ptes[0].exclusive: does not apply to a present PTE (a page's exclusivity is set with "
     "folio.exclusive)"),
    ({"ptes": [{"mm": "task"}]}, "ptes[0].addr: required field is missing"),
    ({"faults": [{"op": "pin", "page": 3, "error": "ENOMEM"}]},
     "faults[0].error: must be 'EBUSY', not 'ENOMEM'"),
    ({"schema": "simcore.scenario/0"}, "schema: must be 'simcore.scenario/1', not "
                                       "'simcore.scenario/0'"),
    ({"extra": 1}, "extra: unknown field"),
]


@pytest.mark.parametrize("patch,message", MESSAGES, ids=[m.split(":")[0] for _p, m in MESSAGES])
def test_validate_names_the_field_in_one_line(patch, message):
    doc = {"schema": "simcore.scenario/1", "folio": {"order": 4},
           "mms": [{"name": "task", "vmas": [{"start": 0, "end": 65536}]}]}
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(doc.get(key), dict):
            doc[key] = {**doc[key], **value}
        else:
            doc[key] = value
    with pytest.raises(ScenarioError) as e:
        validate(doc)
    text = str(e.value)
    assert "\n" not in text
    assert text.startswith(message), text


# -- random scenarios ---------------------------------------------------------------------------
SEEDS = range(500)


def test_random_scenarios_validate_and_build():
    seen = {"arch": set(), "order": set(), "kind": set(), "fork": 0, "faults": 0,
            "lazyfree": 0, "straddle": 0, "vma_split": 0, "mid_vma": 0}
    for seed in SEEDS:
        doc = random_scenario(seed)
        validate(doc)
        sys = from_dict(doc)
        seen["arch"].add((sys.arch.name, sys.arch.page_size))
        seen["order"].add(sys.folio.order)
        seen["kind"].update(r.get("kind", "present") for r in doc["ptes"])
        seen["fork"] += len(doc["mms"]) > 1
        seen["faults"] += bool(doc.get("faults"))
        seen["lazyfree"] += not doc["folio"]["swapbacked"]
        seen["straddle"] += "PMD boundary" in doc["description"]
        seen["vma_split"] += "VMA split" in doc["description"]
        seen["mid_vma"] += "VMA starts at page" in doc["description"]
    assert {a for a, _ps in seen["arch"]} == {"x86_64", "arm64", "sparc64"}
    assert {ps for a, ps in seen["arch"] if a == "arm64"} == {4096, 16384, 65536}
    assert {0, 2, 6} <= seen["order"] and 1 not in seen["order"]
    assert seen["kind"] == {"present", "swap", "device_exclusive"}
    for knob in ("fork", "faults", "lazyfree", "straddle", "vma_split", "mid_vma"):
        assert seen[knob] >= 10, (knob, seen[knob])


def test_random_scenario_is_deterministic():
    for seed in (0, 1, 17, 499, 2**40):
        assert random_scenario(seed) == random_scenario(seed)
    assert random_scenario(1) != random_scenario(2)
    assert json.dumps(random_scenario(5)) == json.dumps(random_scenario(5))


def test_random_scenario_knobs():
    for seed in range(100):
        d = random_scenario(seed, max_order=3, arch="sparc64", faults=False, fork=False)
        assert d["arch"]["name"] == "sparc64"
        assert d["folio"]["order"] <= 3
        assert "faults" not in d and len(d["mms"]) == 1
    with pytest.raises(ValueError):
        random_scenario(0, max_order=10)
    with pytest.raises(ValueError):
        random_scenario(0, arch="vax")


def test_random_scenarios_obey_the_kernel_rules():
    for seed in range(200):
        d = random_scenario(seed)
        excl = d["folio"]["exclusive"]
        mapped: dict[int, int] = {}
        for r in d["ptes"]:
            kind = r.get("kind", "present")
            for p in range(r["page"], r["page"] + r.get("nr", 1)):
                if kind == "present" and r.get("write", True):
                    assert excl[p] == "E", (seed, p)
                if kind == "swap":
                    assert excl[p] == "N", (seed, p)
                if kind == "device_exclusive":
                    assert excl[p] == "E", (seed, p)
                if kind in ("present", "device_exclusive"):
                    mapped[p] = mapped.get(p, 0) + 1
        assert all(excl[p] == "N" for p, n in mapped.items() if n > 1), seed


def test_random_scenarios_run_clean_in_every_mode():
    """Invariants hold in every mode (the property tests of tests/simcore go much further)."""
    for seed in range(0, 500, 5):
        sys = from_dict(random_scenario(seed))
        for mode in MODES:
            r = run(sys, mode)
            assert r.violations == [], (seed, mode, [str(v) for v in r.violations])
