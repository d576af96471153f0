"""The readers on samples recorded on the project's machine (Linux 6.18 x86_64, root): pagemap
words of a 64 KiB folio present, swapped out, write-protected by userfaultfd; its kpageflags;
rss_stat and tlb_flush trace lines; smaps_rollup and status. Runs everywhere."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kernlab import counters, pagemap, trace

SAMPLES = Path(__file__).parent / "samples"


@pytest.fixture(scope="module")
def words():
    return json.loads((SAMPLES / "pagemap-6.18.json").read_text())


def _decode(ws):
    return pagemap.decode(b"".join(w.to_bytes(8, "little") for w in ws))


def test_present_folio(words):
    es = _decode(words["words"]["present_64k"])
    assert [e.kind for e in es] == ["present"] * 16
    assert es[0].pfn % 16 == 0 and [e.pfn - es[0].pfn for e in es] == list(range(16))
    assert all(e.mapped_once and not e.uffd_wp and not e.soft_dirty for e in es)
    assert es[0].swap_offset is None


def test_swapped_folio_has_consecutive_aligned_slots(words):
    es = _decode(words["words"]["swapped_64k"])
    assert [e.kind for e in es] == ["swap"] * 16
    offs = [e.swap_offset for e in es]
    assert offs[0] % 16 == 0 and offs == list(range(offs[0], offs[0] + 16))
    assert {e.swap_type for e in es} == {0} and all(e.pfn is None for e in es)


def test_uffd_wp_bit_in_present_and_swap_ptes(words):
    present = _decode(words["words"]["uffd_wp_present"])
    swapped = _decode(words["words"]["uffd_wp_swapped"])
    assert all(e.present and e.uffd_wp for e in present)
    assert all(e.kind == "swap" and e.uffd_wp for e in swapped)


def test_none_and_bad_length(words):
    assert [e.kind for e in _decode(words["words"]["none"])] == ["none", "none"]
    with pytest.raises(ValueError, match="whole number"):
        pagemap.decode(b"1234567")


def test_kpageflags_of_a_64k_folio(words):
    fl = [pagemap.decode_flags(w) for w in words["kpageflags_64k"]]
    head, tails = fl[0], fl[1:]
    assert head["compound_head"] and not head["compound_tail"]
    assert all(t["compound_tail"] and not t["compound_head"] for t in tails)
    # the folio's flags on every page: anon, swap-backed, THP, the head's PG_anon_exclusive
    for f in fl:
        assert f["anon"] and f["swapbacked"] and f["thp"] and f["anon_exclusive"]
    es = _decode(words["words"]["present_64k"])
    assert pagemap.folio_runs(es, fl) == [(0, 16)]
    # the same PFNs without compound flags are 16 small folios
    small = [dict(f, compound_tail=False) for f in fl]
    assert pagemap.folio_runs(es, small) == [(i, 1) for i in range(16)]


def test_trace_lines():
    evs = trace.parse((SAMPLES / "trace-6.18.txt").read_text())
    rss = [e for e in evs if e.name == "rss_stat"]
    tlb = [e for e in evs if e.name == "tlb_flush"]
    assert len(rss) == 6 and len(tlb) == 6
    assert [e.fields["type"] for e in rss[:2]] == ["MM_ANONPAGES", "MM_SWAPENTS"]
    assert rss[1].fields["size"] == 4096 and rss[0].fields["curr"] == 1
    assert rss[0].pid == tlb[0].pid and rss[0].cpu == 1
    assert tlb[0].fields == {"pages": 1, "reason": "local MM shootdown", "code": 3}
    assert trace.count(evs, "tlb_flush", reason="local MM shootdown") == 6


@pytest.mark.parametrize("line", [
    "# tracer: nop",
    "",
    "garbage without a timestamp",
])
def test_trace_other_lines_are_ignored(line):
    assert trace.parse_line(line) is None


def test_trace_line_variants():
    e = trace.parse_line("  python3 worker-77 (   77) [000] .....  5.000001: tlb_flush: "
                         "pages:-1 reason:flush on task switch (0)")
    assert e.pid == 77 and e.fields["pages"] == -1 and e.fields["reason"] == "flush on task switch"
    e = trace.parse_line("<idle>-0 [001] 12.5: rss_stat: mm_id=1 curr=0 type=MM_SWAPENTS "
                         "size=0B")
    assert e.pid == 0 and e.fields == {"mm_id": 1, "curr": 0, "type": "MM_SWAPENTS", "size": 0}


def test_smaps_rollup_and_status():
    r = counters.parse_kb_fields((SAMPLES / "smaps_rollup-6.18.txt").read_text())
    assert r["Anonymous"] > 0 and "Swap" in r and "Rss" in r
    s = counters.parse_kb_fields((SAMPLES / "status-6.18.txt").read_text())
    assert s["RssAnon"] > 0 and "VmSwap" in s
    assert "Name" not in s and "Pid" not in s   # only the "N kB" lines


def test_smaps_and_vmstat():
    text = ("7f0000000000-7f0000010000 rw-p 00000000 00:00 0 \n"
            "Size:                 64 kB\nAnonymous:            48 kB\nSwap:     16 kB\n"
            "VmFlags: rd wr mr mw me ac hg\n"
            "7f0000010000-7f0000020000 r--p 00000000 00:00 0 \nAnonymous:   0 kB\nSwap: 64 kB\n")
    vmas = counters.parse_smaps(text)
    assert [(hex(s), hex(e)) for s, e, _ in vmas] == [("0x7f0000000000", "0x7f0000010000"),
                                                      ("0x7f0000010000", "0x7f0000020000")]
    assert vmas[0][2]["Anonymous"] == 48 and vmas[1][2]["Swap"] == 64
    vm = counters.parse_vmstat("pswpout 12\nnr_free_pages 5\nbogus\nswpout_zero -1\n")
    assert vm == {"pswpout": 12, "nr_free_pages": 5, "swpout_zero": -1}
    assert counters.delta({"a": 3, "b": 1}, {"a": 1, "b": 1}) == {"a": 2}


def test_kinds_summary():
    assert pagemap.kinds_summary(["swap"] * 16) == "16 swap"
    assert pagemap.kinds_summary(["present"] * 4 + ["swap"] * 2) == "4 present, 2 swap"
    assert pagemap.kinds_summary([]) == "nothing"
