"""Golden outputs: ``python -m simcore run EXAMPLE --mode MODE --json`` for every example and mode.

The goldens in ``tests/cli/golden/<example>.<mode>.json`` are committed test data. Regenerate
with ``pytest tests/cli --update-golden`` (or ``UPDATE_GOLDEN=1``) after a deliberate model
change, and read the diff. ``estimate_ns`` is left out of the goldens: it belongs to the cost
model's calibration (`simcore.costmodel`), which changes on its own schedule; here it only has
to be null or a positive number.

Hand-checked against the kernel brief (kernel-brief.md; section numbers in brackets), value by
value, before the goldens were first committed:

* anon_exclusive.patched — E pages 0-7 writable, N pages 8-15 read-only. FPB_RESPECT_WRITE
  splits the folio into 2 batches [2.3, 2.4]; each is one exclusivity sub-batch [3.4]:
  (0,8,E), (8,8,N). One share call for the E sub-batch = 2 barriers [3.2, 3.3]; the N one needs
  no share. 2 dup calls, 16 swap PTEs: pages 0-7 with the exclusive marker (X), 8-15 without
  (S) [4.1]; slot of page i = folio swap offset + i, count 1 each. MM_ANONPAGES 16 -> 0,
  MM_SWAPENTS 0 -> 16 [4.3]; mapcount 16 -> 0; refcount 33 (16 mappings + 1 caller + 16
  swap cache) -> 17 [4.3, 11 item 37]; folio dirty (pages 0-7 were dirty) [2.5]; all flags N
  afterwards [3.1]. 2 TLB operations (deferred), 16 pages [2.6].
* anon_exclusive.baseline — the same final state with 16 iterations, 16 batches of 1, 8 share
  calls = 16 barriers, 16 dup calls, 16 rmap calls, 16 TLB operations [2.2.1, 2.6].
* partial_failure.patched — one read-only batch of 16, sub-batches (0,4,E), (4,8,N) and the
  never-reached (12,4,E). folio_dup_swap() fails on the (4,8,N) sub-batch because page 9 is in
  it [5.1 item 2]. Pages 0-3 are swap PTEs with the exclusive marker, accounted by
  finish_folio_unmap(): 1 rmap call, mapcount 16 -> 12, refcount 33 -> 29 [5.2, 2.7]; swap
  counts 1,1,1,1 then 0 (the failed batched dup changed nothing); pages 4-15 restored present
  and read-only, their flags unchanged (4-11 N, 12-15 E); MM_ANONPAGES 12, MM_SWAPENTS 4;
  try_to_unmap() false (exit code 1) [5.2, 11 item 41-42]. pte_writes 32 = 16 clears + 4 swap
  PTEs + 12 restores.
* partial_failure.baseline — one page at a time, so pages 0-8 become swap PTEs (0-3 with the
  marker) and page 9's dup fails: 9 rmap calls, mapcount 7, refcount 24, swap counts 1 x 9,
  pages 9-15 present [2.2.1]. The final states of the two modes differ: a fault placed on a
  page means the same in every mode, which pages end up unmapped does not (DESIGN 3.3).
* contpte.baseline / contpte.patched — a 64 KiB folio as one CONT block on arm64 without
  BBML2 [8.1]. Baseline: 1 unfold with its block TLBI (tlbi_unfold 1) [8.2, 8.3], 16 deferred
  TLB operations; patched: one batch covers the whole aligned block, 0 unfolds, 1 TLB
  operation for 16 pages [8.4].
* cve_stale_nr_pages.patched — lazyfree folio in a VM_DROPPABLE VMA: a batch of 15 present
  PTEs, then the device-exclusive entry as its own batch of 1 (never batched) [6]. All 16
  slots end none, MM_ANONPAGES 16 -> 0, MM_SWAPENTS 0, no swap counts, mapcount 0, refcount 1
  (only reclaim's reference: lazyfree folios are not in the swap cache) [4.2].
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from cli_testlib import EXAMPLES, GOLDEN, ROOT

from simcore.batch import MODES

EXAMPLE_FILES = sorted(EXAMPLES.glob("*.json"))
CASES = [(ex, mode) for ex in EXAMPLE_FILES for mode in MODES]


def _golden_path(example, mode):
    return GOLDEN / f"{example.stem}.{mode}.json"


def _strip_estimate(obj: dict) -> dict:
    est = obj.pop("estimate_ns")
    assert est is None or (isinstance(est, int | float) and est > 0), est
    return obj


def test_there_are_examples_and_goldens():
    assert len(EXAMPLE_FILES) >= 11
    names = {p.stem for p in EXAMPLE_FILES}
    for required in ("anon_exclusive", "anon_exclusive_midfolio", "sparc64", "sparc64_lazyfree",
                     "partial_failure", "pinned", "cve_stale_nr_pages", "contpte",
                     "contpte_unaligned", "pmd_boundary", "fork"):
        assert required in names


@pytest.mark.parametrize("example,mode", CASES, ids=[f"{e.stem}-{m}" for e, m in CASES])
def test_golden(cli, update_golden, example, mode):
    r = cli("run", example, "--mode", mode, "--json")
    assert r.err == ""
    obj = _strip_estimate(json.loads(r.out))
    assert r.code == (0 if obj["ok"] else 1)
    path = _golden_path(example, mode)
    if update_golden:
        path.write_text(json.dumps(obj, indent=2) + "\n")
    assert path.exists(), f"no golden {path.name}: run pytest tests/cli --update-golden"
    assert obj == json.loads(path.read_text())


def test_golden_through_a_real_process():
    example = EXAMPLES / "partial_failure.json"
    proc = subprocess.run([sys.executable, "-m", "simcore", "run", str(example), "--mode",
                           "patched", "--json"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr == ""
    obj = _strip_estimate(json.loads(proc.stdout))
    assert obj == json.loads(_golden_path(example, "patched").read_text())


# -- the hand-checked facts, asserted directly so they survive a careless --update-golden -----
def _golden(name, mode):
    return json.loads((GOLDEN / f"{name}.{mode}.json").read_text())


def _subs(batch):
    return [(s["start_page"], s["nr"], "E" if s["exclusive"] else "N")
            for s in batch["sub_batches"]]


def test_hand_checked_anon_exclusive():
    g = _golden("anon_exclusive", "patched")
    assert g["ok"] is True
    assert [(b["start_page"], b["nr"]) for b in g["batches"]] == [(0, 8), (8, 8)]
    assert [_subs(b) for b in g["batches"]] == [[(0, 8, "E")], [(8, 8, "N")]]
    c = g["costs"]
    assert (c["share_calls"], c["barriers"], c["dup_calls"]) == (1, 2, 2)
    assert (c["tlb_deferred"] + c["tlb_flushes"], c["tlb_pages"]) == (2, 16)
    assert "".join("X" if p["exclusive"] else "S" for p in g["ptes"]) == "X" * 8 + "S" * 8
    assert [p["swp_offset"] - g["ptes"][0]["swp_offset"] for p in g["ptes"]] == list(range(16))
    assert g["swap_counts"] == [1] * 16
    assert g["mms"]["task"] == {"MM_ANONPAGES": 0, "MM_SWAPENTS": 16}
    assert g["folio"] == {"mapcount": 0, "refcount": 17, "dirty": True, "exclusive": "N" * 16,
                          "swapbacked": True, "pincount": 0}
    b = _golden("anon_exclusive", "baseline")
    cb = b["costs"]
    assert (cb["iterations"], cb["share_calls"], cb["barriers"], cb["dup_calls"],
            cb["rmap_calls"], cb["tlb_deferred"]) == (16, 8, 16, 16, 16, 16)
    assert {k: b[k] for k in ("ptes", "folio", "mms", "swap_counts")} == \
        {k: g[k] for k in ("ptes", "folio", "mms", "swap_counts")}


def test_hand_checked_partial_failure():
    g = _golden("partial_failure", "patched")
    assert g["ok"] is False
    assert [_subs(b) for b in g["batches"]] == [[(0, 4, "E"), (4, 8, "N")]]
    assert g["faults_fired"] == [{"op": "dup_swap", "page": 9}]
    kinds = [p["kind"] for p in g["ptes"]]
    assert kinds == ["swap"] * 4 + ["present"] * 12
    assert all(p["exclusive"] for p in g["ptes"][:4])
    assert not any(p["write"] for p in g["ptes"][4:])
    assert g["folio"]["mapcount"] == 12 and g["folio"]["refcount"] == 29
    assert g["folio"]["exclusive"] == "NNNN" + "N" * 8 + "EEEE"
    assert g["swap_counts"] == [1] * 4 + [0] * 5 + [62] + [0] * 6    # 62 held elsewhere
    assert g["mms"]["task"] == {"MM_ANONPAGES": 12, "MM_SWAPENTS": 4}
    assert (g["costs"]["rmap_calls"], g["costs"]["pte_writes"]) == (1, 32)
    assert g["violations"] == []
    b = _golden("partial_failure", "baseline")
    assert [p["kind"] for p in b["ptes"]] == ["swap"] * 9 + ["present"] * 7
    assert (b["folio"]["mapcount"], b["folio"]["refcount"]) == (7, 24)
    assert b["swap_counts"] == [1] * 9 + [62] + [0] * 6


def test_hand_checked_contpte_and_cve():
    base, pat = _golden("contpte", "baseline"), _golden("contpte", "patched")
    assert (base["costs"]["contpte_unfolds"], base["costs"]["tlbi_unfold"]) == (1, 1)
    assert base["costs"]["tlb_deferred"] == 16
    assert (pat["costs"]["contpte_unfolds"], pat["costs"]["tlbi_unfold"]) == (0, 0)
    assert (pat["costs"]["tlb_deferred"], pat["costs"]["tlb_pages"]) == (1, 16)
    cve = _golden("cve_stale_nr_pages", "patched")
    assert [(b["start_page"], b["nr"], b["kind"]) for b in cve["batches"]] == \
        [(0, 15, "present"), (15, 1, "device_exclusive")]
    assert all(p["kind"] == "none" for p in cve["ptes"])
    assert cve["folio"]["mapcount"] == 0 and cve["folio"]["refcount"] == 1
    assert cve["mms"]["task"] == {"MM_ANONPAGES": 0, "MM_SWAPENTS": 0}
