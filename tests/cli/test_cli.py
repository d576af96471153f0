"""The command line (`simcore.cli`): commands, flags, exit codes, and one-line errors.

Most tests call `simcore.cli.main(argv)` in-process (the ``cli`` fixture); a few run
``python -m simcore`` as a real process to prove the entry point and the exit status.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys

import pytest
from cli_testlib import EXAMPLES, ROOT, example_doc, write_scenario

from simcore import cli as cli_module
from simcore.batch import MODES

ANON = EXAMPLES / "anon_exclusive.json"
PARTIAL = EXAMPLES / "partial_failure.json"


_doc = example_doc
_write = write_scenario


# -- run ----------------------------------------------------------------------------------------
def test_run_text_report(cli):
    r = cli("run", ANON)
    assert r.code == 0 and r.err == ""
    out = r.out
    assert "scenario: 64 KiB folio, half exclusive" in out
    assert "arm64, 4K pages, PTRS_PER_PTE=512, CONT_PTES=16, no BBML2" in out
    assert "mode:     patched" in out
    assert "sub-batches [0..7 E]" in out and "sub-batches [8..15 N]" in out
    assert "before WWWWWWWWRRRRRRRR" in out
    assert "after  XXXXXXXXSSSSSSSS" in out
    assert "MM_ANONPAGES 0, MM_SWAPENTS 16" in out
    assert out.rstrip().endswith("invariants: all hold")


def test_run_json_has_the_design_keys(cli):
    r = cli("run", ANON, "--mode", "baseline", "--json")
    assert r.code == 0
    obj = json.loads(r.out)
    for key in ("ok", "mode", "arch", "bugs", "batches", "ptes", "folio", "mms", "swap_counts",
                "costs", "estimate_ns", "violations", "faults_fired"):
        assert key in obj, key
    assert obj["mode"] == "baseline"
    assert set(obj["folio"]) >= {"mapcount", "refcount", "dirty", "exclusive"}
    assert len(obj["batches"]) == 16
    assert all(set(b) >= {"mm", "start_page", "nr", "sub_batches"} for b in obj["batches"])
    assert len(obj["ptes"]) == 16 and obj["ptes"][0]["addr"] == "0x7f0000000000"


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.json")), ids=lambda p: p.stem)
def test_sub_batches_account_for_every_unit_of_swap_work(cli, example):
    for mode in MODES:
        obj = json.loads(cli("run", example, "--mode", mode, "--json").out)
        assert sum(len(b["sub_batches"]) for b in obj["batches"]) == obj["costs"]["sub_batches"]
        assert len(obj["batches"]) == obj["costs"]["batches"]
        assert obj["violations"] == []


def test_run_failure_is_exit_1_not_an_error(cli):
    r = cli("run", PARTIAL, "--json")
    assert r.code == 1 and r.err == ""
    assert json.loads(r.out)["ok"] is False


def test_run_with_a_bug_reports_violations(cli):
    r = cli("run", EXAMPLES / "cve_stale_nr_pages.json", "--bug", "stale-nr-pages", "--json")
    obj = json.loads(r.out)
    assert obj["bugs"] == ["stale-nr-pages"]
    codes = {v["code"] for v in obj["violations"]}
    assert {"mapcount", "refcount"} <= codes
    text = cli("run", EXAMPLES / "cve_stale_nr_pages.json", "--bug", "stale-nr-pages").out
    assert "invariants: " in text and "violated" in text and "[mapcount]" in text


def test_run_trace(cli):
    r = cli("run", ANON, "--trace")
    assert "trace (" in r.out and "folio_try_share_anon_rmap_ptes" in r.out
    obj = json.loads(cli("run", ANON, "--trace", "--json").out)
    kinds = [e["kind"] for e in obj["trace"]]
    assert kinds[0] == "start" and kinds[-1] == "end" and "sub_batch" in kinds
    assert "state" in obj["trace"][0]


def test_arch_override_falls_back_to_the_default_page_size(cli):
    obj = json.loads(cli("run", EXAMPLES / "sparc64.json", "--arch", "arm64", "--json").out)
    assert obj["arch"]["name"] == "arm64" and obj["arch"]["page_size"] == 4096
    # The 8K scenario's addresses are 4K aligned too, so it builds; batching is now allowed.
    assert len(obj["batches"]) == 1
    obj = json.loads(cli("run", ANON, "--arch", "x86_64", "--json").out)
    assert obj["arch"]["name"] == "x86_64" and obj["arch"]["bbml2"] is False


def test_page_size_and_bbml2_flags(cli):
    obj = json.loads(cli("run", EXAMPLES / "contpte.json", "--mode", "baseline", "--bbml2",
                         "--json").out)
    assert obj["arch"]["bbml2"] is True
    assert obj["costs"]["contpte_unfolds"] == 1 and obj["costs"]["tlbi_unfold"] == 0
    obj = json.loads(cli("run", EXAMPLES / "pmd_boundary.json", "--arch", "arm64",
                         "--page-size", "16384", "--json").out)
    assert obj["arch"]["page_size"] == 16384 and obj["violations"] == []
    # 16 PTEs of 16K no longer fit the 64 KiB VMA: bad input for this scenario, named.
    r = cli("run", EXAMPLES / "contpte.json", "--page-size", "16384")
    assert r.code == 2
    assert r.err == "simcore: ptes[0].addr: 0x7f0000010000 is outside every VMA of task\n"


# -- compare, check -----------------------------------------------------------------------------
def test_compare_text_and_json(cli):
    r = cli("compare", ANON)
    assert r.code == 0
    assert "per-pte" in r.out and "baseline" in r.out and "patched" in r.out
    assert "final states: all equal" in r.out
    r = cli("compare", PARTIAL, "--json")
    assert r.code == 1
    obj = json.loads(r.out)
    assert set(obj["modes"]) == set(MODES)
    assert obj["final_states_equal"] is False
    assert obj["final_states_equal_pairs"]["per-pte=baseline"] is True
    r = cli("compare", ANON, "--mode", "baseline", "--mode", "patched", "--json")
    assert list(json.loads(r.out)["modes"]) == ["baseline", "patched"]


def test_check(cli):
    r = cli("check", EXAMPLES / "fork.json")
    assert r.code == 0 and "valid" in r.out and "2 mm(s)" in r.out
    obj = json.loads(cli("check", EXAMPLES / "fork.json", "--json").out)
    assert obj["ok"] is True and obj["ptes"] == 32 and obj["mms"] == ["parent", "child"]


def test_every_example_runs_in_every_mode_without_violations(cli):
    for ex in sorted(EXAMPLES.glob("*.json")):
        doc = json.loads(ex.read_text())
        assert doc.get("name") and doc.get("description"), ex.name
        obj = json.loads(cli("compare", ex, "--json").out)
        for mode, rep in obj["modes"].items():
            assert rep["violations"] == [], (ex.name, mode, rep["violations"])


# -- workload, hw/grade -------------------------------------------------------------------------
def test_workload_small(cli):
    r = cli("workload", "--size", "1M", "--folio", "64K", "--arch", "arm64", "--json")
    assert r.code == 0, r.err
    obj = json.loads(r.out)
    assert set(obj["modes"]) == set(MODES)
    pat, base = obj["modes"]["patched"], obj["modes"]["baseline"]
    assert pat["nr_folios"] == 16 and pat["nr_ptes"] == 256
    assert pat["costs"]["batches"] == 16 and base["costs"]["batches"] == 256
    r = cli("workload", "--size", "1M", "--folio", "64K", "--mode", "patched")
    assert r.code == 0 and "patched" in r.out and "baseline" not in r.out


def test_tlb_flag_chooses_the_x86_case(cli):
    """x86 arch_tlbbatch_should_defer() (arch/x86/include/asm/tlbflush.h) defers only for an
    mm that ran on another CPU; arm64 always defers, sparc64 has no batched flush: ``--tlb``
    is x86's choice and refused elsewhere with one line."""
    obj = json.loads(cli("run", PARTIAL, "--mode", "baseline", "--tlb", "immediate",
                         "--json").out)
    assert obj["arch"]["defer_flush"] is False and obj["costs"]["tlb_flushes"] == 10
    obj = json.loads(cli("run", PARTIAL, "--mode", "baseline", "--tlb", "defer", "--json").out)
    assert obj["costs"]["tlb_deferred"] == 10 and obj["costs"]["tlb_flushes"] == 0
    r = cli("run", EXAMPLES / "contpte.json", "--tlb", "immediate")
    assert r.code == 2
    assert r.err == "simcore: --tlb: only x86_64 has a choice (arm64 always defers)\n"
    r = cli("workload", "--size", "1M", "--arch", "sparc64", "--folio", "64K", "--tlb", "defer")
    assert r.code == 2 and r.err.startswith("simcore: --tlb: only x86_64 has a choice")
    r = cli("workload", "--size", "1M", "--arch", "x86_64", "--tlb", "immediate", "--json")
    obj = json.loads(r.out)
    assert obj["modes"]["baseline"]["tlb"] == "immediate"
    assert obj["modes"]["baseline"]["costs"]["tlb_flushes"] == 256


def test_workload_lazyfree(cli):
    """``--kind lazyfree``: MADV_FREE then MADV_PAGEOUT (Barry Song's 2025 benchmark shape);
    the estimate covers the unmap work only."""
    r = cli("workload", "--size", "1M", "--folio", "64K", "--kind", "lazyfree")
    assert r.code == 0 and "lazyfree (MADV_FREE)" in r.out and "unmap estimate (ms)" in r.out
    obj = json.loads(cli("workload", "--size", "1M", "--kind", "lazyfree", "--json").out)
    assert obj["modes"]["per-pte"]["costs"]["iterations"] == 256
    assert obj["modes"]["baseline"]["costs"]["iterations"] == 16
    r = cli("workload", "--kind", "free")
    assert r.code == 2 and r.err.startswith("simcore: --kind: invalid choice")


def test_hw_and_grade_point_to_the_classroom_package(capsys):
    """simcore does not import classroom: the moved commands say where they went."""
    for argv in (["hw", "batches", "-s", "7"], ["grade", "answers.csv"]):
        assert cli_module.main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and f"python -m classroom {argv[0]}" in err


# -- bad input: one line on stderr naming the field or flag, exit 2 ------------------------------
def _bad_docs():
    def mut(f, name="anon_exclusive"):
        d = copy.deepcopy(_doc(name))
        f(d)
        return d

    return {
        "unknown key": (mut(lambda d: d["folio"].update(ordr=4)), "folio.ordr: unknown field"),
        "bad exclusive letters": (mut(lambda d: d["folio"].update(exclusive="EEX" + "E" * 13)),
                                  "folio.exclusive: 'EEXEEEEEEEEEEEEE' does not match"),
        "wrong length exclusive": (mut(lambda d: d["folio"].update(exclusive="EEEN")),
                                   "folio.exclusive: needs 16 letters"),
        "order 10": (mut(lambda d: d["folio"].update(order=10)),
                     "folio.order: 10 is greater than the maximum of 9"),
        "misaligned pfn": (mut(lambda d: d["folio"].update(pfn="0x10003")),
                           "folio.pfn: a folio of order 4 starts at a multiple of 16"),
        "pfn not a number": (mut(lambda d: d["folio"].update(pfn="lots")),
                             "folio.pfn: expected a non-negative integer or a hex string"),
        "pte outside VMA": (mut(lambda d: d["ptes"][1].update(addr="0x7f0000010000")),
                            "ptes[1].addr: 0x7f0000010000 is outside every VMA of task"),
        "unknown mm": (mut(lambda d: d["ptes"][0].update(mm="init")),
                       "ptes[0].mm: no mm named 'init'"),
        "negative nr": (mut(lambda d: d["ptes"][1].update(nr=-3)),
                        "ptes[1].nr: -3 is less than the minimum of 1"),
        "bad fault op": (mut(lambda d: d.update(faults=[{"op": "oom", "page": 1}])),
                         "faults[0].op: 'oom' is not one of"),
        "fault page outside": (mut(lambda d: d.update(faults=[{"op": "pin", "page": 16}])),
                               "faults[0].page: 16 is outside the folio"),
        "write on a swap PTE": (mut(lambda d: d["ptes"][1].update(kind="swap")),
                                "ptes[1].write: does not apply to a swap PTE"),
        "N page writable": (mut(lambda d: d["ptes"][1].update(write=True)),
                            "ptes[1]: page 8 is mapped writable but is not exclusive"),
        "sparc64 with 4K pages": (mut(lambda d: d["arch"].update(name="sparc64",
                                                                 page_size=4096)),
                                  "arch.page_size: sparc64 is modelled with 8192-byte pages"),
        "unknown arch": (mut(lambda d: d["arch"].update(name="riscv64")),
                         "arch.name: 'riscv64' is not one of"),
        "wrong schema id": (mut(lambda d: d.update(schema="simcore.scenario/2")),
                            "schema: must be 'simcore.scenario/1'"),
        "missing mms": (mut(lambda d: d.pop("mms")), "mms: required field is missing"),
        "not an object": ([1, 2, 3], "scenario: [1, 2, 3] is not of type 'object'"),
        "non-JSON": ("{\"schema\": \"simcore.scenario/1\",,}", "not valid JSON (line 1"),
    }


BAD_DOCS = _bad_docs()


@pytest.mark.parametrize("what", list(BAD_DOCS))
def test_bad_file_gives_one_line_and_exit_2(cli, tmp_path, what):
    doc, expected = BAD_DOCS[what]
    path = _write(tmp_path, doc)
    for command in ("run", "check", "compare"):
        r = cli(command, path)
        assert r.code == 2, (what, command, r.out)
        assert r.out == ""
        assert r.err.count("\n") == 1 and r.err.startswith("simcore: "), r.err
        assert expected in r.err, r.err
        assert "Traceback" not in r.err


BAD_FLAGS = {
    "missing file": (["run", "/nonexistent/x.json"],
                     "simcore: /nonexistent/x.json: cannot read (No such file or directory)"),
    "directory": (["check", str(EXAMPLES)],
                  f"simcore: {EXAMPLES}: cannot read (it is a directory)"),
    "unknown mode": (["run", str(ANON), "--mode", "fast"], "simcore: --mode: invalid choice"),
    "unknown bug": (["run", str(ANON), "--bug", "no-such-bug"],
                    "simcore: --bug: unknown variant 'no-such-bug'"),
    "unknown arch flag": (["run", str(ANON), "--arch", "mips"], "simcore: --arch: invalid choice"),
    "page size flag": (["run", str(ANON), "--page-size", "8192"],
                       "simcore: --page-size: arm64 granule must be 4096, 16384 or 65536"),
    "page size not int": (["run", str(ANON), "--page-size", "big"],
                          "simcore: --page-size: invalid int value"),
    "bbml2 on x86": (["run", str(ANON), "--arch", "x86_64", "--bbml2"],
                     "simcore: --bbml2: BBML2 is an arm64 feature"),
    "unknown flag": (["run", str(ANON), "--fast"], "simcore: --fast: unrecognized argument"),
    "missing FILE": (["run"], "simcore: FILE: required"),
    "no command": ([], "simcore: command: required"),
    "unknown command": (["frobnicate"], "simcore: command: invalid choice"),
    "workload size": (["workload", "--size", "lots"], "simcore: --size: cannot read 'lots'"),
    "workload folio": (["workload", "--size", "1M", "--folio", "48K"],
                       "simcore: --folio: 49152 bytes is not a power-of-two"),
}


@pytest.mark.parametrize("what", list(BAD_FLAGS))
def test_bad_flag_gives_one_line_and_exit_2(cli, what):
    argv, expected = BAD_FLAGS[what]
    r = cli(*argv)
    assert r.code == 2, (what, r.out)
    assert r.out == ""
    assert r.err.count("\n") == 1 and r.err.startswith(expected), r.err


def test_help_exits_0(capsys):
    assert cli_module.main(["--help"]) == 0
    assert "run" in capsys.readouterr().out
    assert cli_module.main(["run", "--help"]) == 0
    assert "--mode" in capsys.readouterr().out


def test_simcore_never_imports_classroom():
    """Arrows point down: book -> bookkit/classroom -> simcore."""
    code = ("import sys, simcore, simcore.cli, simcore.api; "
            "sys.exit(any(m.split('.')[0] == 'classroom' for m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT, timeout=120).returncode == 0


# -- real processes -------------------------------------------------------------------------------
def _python_m(*argv):
    return subprocess.run([sys.executable, "-m", "simcore", *map(str, argv)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_process_run_text_exit_0():
    proc = _python_m("run", ANON)
    assert proc.returncode == 0 and proc.stderr == ""
    assert "invariants: all hold" in proc.stdout


def test_process_bad_input_exit_2(tmp_path):
    bad = _write(tmp_path, {"schema": "simcore.scenario/1", "folio": {"order": 10},
                            "mms": [{"name": "a", "vmas": [{"start": 0, "end": 4096}]}]})
    proc = _python_m("run", bad, "--json")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == "simcore: folio.order: 10 is greater than the maximum of 9\n"
    proc = _python_m("run", ANON, "--mode", "nope")
    assert proc.returncode == 2
    assert proc.stderr.startswith("simcore: --mode: invalid choice 'nope'")
    assert proc.stderr.count("\n") == 1
