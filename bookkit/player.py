"""The step-through player: the static twin of a live widget.

``player_html(data)`` returns a self-contained HTML fragment: a ``<div class="ttu-player">``
holding the trace as ``<script type="application/json">`` and a readable summary of each
preset's final frame (what a reader without JavaScript sees, e.g. a notebook viewer). The
script and style that turn it into the interactive player, ``player.js`` and ``player.css``,
are package data of bookkit (``bookkit/static``, :func:`assets`), so that they come with a
pip-installed bookkit:

* **the website** (the build's kernels run with ``BOOKKIT_GLUE=myst-nb``, see
  :mod:`bookkit.sitebuild`) loads them once per page: ``_config.yml`` lists ``bookkit/static``
  in ``html_static_path`` and the files in ``html_js_files``/``html_css_files``; the fragment
  carries only the data and the summary;
* **Jupyter** (a chapter run in JupyterLab, Notebook 7, VS Code; no extension needed): the
  fragment carries the style and the script inline. JupyterLab runs the ``<script>`` of an
  HTML output the session produced (a trusted output), so after "Run All" the players step
  as on the site; an untrusted view (a notebook opened with stored outputs, nbviewer) drops
  the script and shows the summary.

The data format (generated from simulation traces)::

    {"id": "unique-on-page", "title": "...",
     "presets": [{"key": "half", "label": "Half exclusive", "description": "one sentence",
                  "columns": [{"mm": "task", "addr": "0x7f0000000000", "page": 0}, ...],
                  "frames": [{"event": "batch", "fn": "folio_unmap_pte_batch",
                              "text": "folio_unmap_pte_batch() returns nr = 16",
                              "ptes": ["Wc", "R", "-", ...],      # one code per column
                              "pages": "EEEENNNN",                # one letter per folio page
                              "highlight": [0, 16],               # optional [start, end)
                              "counters": {"ptep_get": 2, ...}}, ...]}]}

PTE codes: the first letter is the kind -- ``W`` present writable, ``R`` present read-only,
``D`` device-exclusive, ``X`` swap PTE with the exclusive marker, ``S`` swap PTE without it,
``-`` none -- and an optional trailing ``c`` means the arm64 CONT bit is set. Page letters:
``E`` = PageAnonExclusive, ``N`` = not exclusive.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

from bookkit.sitebuild import in_site_build

__all__ = [
    "KINDS",
    "PAGE_STATES",
    "PlayerDataError",
    "assets",
    "describe_pte",
    "example_data",
    "player_html",
    "read_players",
    "validate",
]

#: PTE kind letter -> (short name for the legend, description used in titles/aria text)
KINDS: dict[str, tuple[str, str]] = {
    "W": ("present, writable", "present, writable"),
    "R": ("present, read-only", "present, read-only"),
    "D": ("device-exclusive", "device-exclusive"),
    "X": ("swap, exclusive", "swap entry with the exclusive marker"),
    "S": ("swap, not exclusive", "swap entry without the exclusive marker"),
    "-": ("none", "none (not mapped)"),
}
#: page letter -> description
PAGE_STATES: dict[str, str] = {
    "E": "PageAnonExclusive",
    "N": "not exclusive (may be shared)",
}

_PTE_CODE = re.compile(r"^[WRDXS-]c?$")
_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


class PlayerDataError(ValueError):
    """The player data does not follow the format (the message names the field)."""


def _fail(where: str, msg: str) -> None:
    raise PlayerDataError(f"player data: {where}: {msg}")


def validate(data: Mapping[str, Any]) -> None:
    """Check ``data`` against the player format; raise :class:`PlayerDataError` if it is off."""
    if not isinstance(data, Mapping):
        _fail("top level", "expected an object")
    for key in ("id", "title"):
        if not isinstance(data.get(key), str) or not data.get(key):
            _fail(key, "expected a non-empty string")
    presets = data.get("presets")
    if not isinstance(presets, list) or not presets:
        _fail("presets", "expected a non-empty list")
    keys = set()
    for p, preset in enumerate(presets):
        where = f"presets[{p}]"
        if not isinstance(preset, Mapping):
            _fail(where, "expected an object")
        for key in ("key", "label"):
            if not isinstance(preset.get(key), str) or not preset.get(key):
                _fail(f"{where}.{key}", "expected a non-empty string")
        if preset["key"] in keys:
            _fail(f"{where}.key", f"duplicate preset key {preset['key']!r}")
        keys.add(preset["key"])
        if not isinstance(preset.get("description", ""), str):
            _fail(f"{where}.description", "expected a string")
        columns = preset.get("columns")
        if not isinstance(columns, list) or not columns:
            _fail(f"{where}.columns", "expected a non-empty list")
        for c, col in enumerate(columns):
            if not isinstance(col, Mapping) or not isinstance(col.get("mm"), str):
                _fail(f"{where}.columns[{c}]", "expected an object with a string 'mm'")
            if not isinstance(col.get("addr", ""), str):
                _fail(f"{where}.columns[{c}].addr", "expected a string such as '0x7f0000000000'")
        frames = preset.get("frames")
        if not isinstance(frames, list) or not frames:
            _fail(f"{where}.frames", "expected a non-empty list")
        for f, frame in enumerate(frames):
            fw = f"{where}.frames[{f}]"
            if not isinstance(frame, Mapping):
                _fail(fw, "expected an object")
            for key in ("event", "fn", "text"):
                if not isinstance(frame.get(key, ""), str):
                    _fail(f"{fw}.{key}", "expected a string")
            ptes = frame.get("ptes")
            if not isinstance(ptes, list) or len(ptes) != len(columns):
                _fail(f"{fw}.ptes", f"expected a list of {len(columns)} codes (one per column)")
            for i, code in enumerate(ptes):
                if not isinstance(code, str) or not _PTE_CODE.match(code):
                    _fail(f"{fw}.ptes[{i}]", f"bad PTE code {code!r} (W, R, D, X, S or -, then c?)")
            pages = frame.get("pages", "")
            if not isinstance(pages, str) or set(pages) - set(PAGE_STATES):
                _fail(f"{fw}.pages", "expected a string of E/N letters")
            hl = frame.get("highlight")
            if hl is not None and not (
                isinstance(hl, list)
                and len(hl) == 2
                and all(isinstance(x, int) for x in hl)
                and 0 <= hl[0] <= hl[1] <= len(columns)
            ):
                _fail(f"{fw}.highlight", f"expected [start, end) within 0..{len(columns)}")
            counters = frame.get("counters", {})
            if not isinstance(counters, Mapping) or not all(
                isinstance(k, str) and isinstance(v, int | float) and not isinstance(v, bool)
                for k, v in counters.items()
            ):
                _fail(f"{fw}.counters", "expected an object of name -> number")


def describe_pte(code: str, column: Mapping[str, Any], index_in_mm: int) -> str:
    """The title/aria text of one PTE cell (the same words as player.js uses).

    >>> describe_pte("Wc", {"mm": "task", "addr": "0x7f0000003000", "page": 3}, 3)
    'PTE 3 of task at 0x7f0000003000 (folio page 3): present, writable, CONT'
    """
    kind = KINDS[code[0]][1]
    cont = ", CONT" if code.endswith("c") else ""
    where = f"PTE {index_in_mm} of {column['mm']}"
    if column.get("addr"):
        where += f" at {column['addr']}"
    if column.get("page") is not None:
        where += f" (folio page {column['page']})"
    return f"{where}: {kind}{cont}"


def _json_for_script(data: Any) -> str:
    """JSON that is safe inside <script>: no '</', '<!--' or '&' sequences can appear."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


_DATA_RE = re.compile(
    r'<script type="application/json" class="ttu-player-data">(.*?)</script>', re.S)


def read_players(page_html: str) -> list[dict[str, Any]]:
    """The data of every player in an HTML page or fragment: the inverse of `player_html`."""
    return [json.loads(blob) for blob in _DATA_RE.findall(page_html)]


def read_presets(player_fragment: str) -> dict[str, dict[str, Any]]:
    """The presets of the one player in an HTML fragment, by key."""
    (data,) = read_players(player_fragment)
    return {p["key"]: p for p in data["presets"]}


def _dom_id(raw: str) -> str:
    return "ttu-" + _ID_UNSAFE.sub("-", raw)


def _group_columns(columns: list[Mapping[str, Any]]) -> list[tuple[str, list[int]]]:
    groups: dict[str, list[int]] = {}
    for i, col in enumerate(columns):
        groups.setdefault(col["mm"], []).append(i)
    return list(groups.items())


def _static_summary(data: Mapping[str, Any]) -> str:
    """Readable, script-free summary: the final frame of every preset."""
    e = html.escape
    parts = [f'<p class="ttu-static-title"><strong>{e(data["title"])}</strong></p>']
    legend = ", ".join(f"<code>{e(k)}</code> {e(v[0])}" for k, v in KINDS.items())
    parts.append(
        f'<p class="ttu-static-legend">PTE codes: {legend}; a trailing <code>c</code> marks the '
        "arm64 CONT bit. Pages: <code>E</code> PageAnonExclusive, <code>N</code> not.</p>"
    )
    for preset in data["presets"]:
        final = preset["frames"][-1]
        n = len(preset["frames"])
        rows = []
        if final.get("pages"):
            pages = e(final["pages"])
            rows.append(f'<tr><th scope="row">folio pages</th><td><code>{pages}</code></td></tr>')
        for mm, idxs in _group_columns(preset["columns"]):
            cells = " ".join(
                f'<span title="{e(describe_pte(final["ptes"][i], preset["columns"][i], j))}">'
                f"{e(final['ptes'][i])}</span>"
                for j, i in enumerate(idxs)
            )
            rows.append(f'<tr><th scope="row">{e(mm)}</th><td><code>{cells}</code></td></tr>')
        counters = final.get("counters") or {}
        if counters:
            text = ", ".join(f"{e(k)} = {e(str(v))}" for k, v in counters.items())
            rows.append(f'<tr><th scope="row">counters</th><td>{text}</td></tr>')
        desc = f" {e(preset['description'])}" if preset.get("description") else ""
        parts.append(
            f'<p class="ttu-static-preset"><strong>{e(preset["label"])}.</strong>{desc} '
            f"After the last of {n} steps (<code>{e(final.get('fn', ''))}</code>: "
            f"{e(final.get('text', ''))}):</p>"
            f'<table class="ttu-static-table">{"".join(rows)}</table>'
        )
    return "".join(parts)


@cache
def assets() -> tuple[str, str]:
    """``(player.js, player.css)``: the player's script and style, read from the package."""
    static = resources.files("bookkit") / "static"
    return (static / "player.js").read_text(encoding="utf-8"), \
        (static / "player.css").read_text(encoding="utf-8")


def player_html(data: Mapping[str, Any], inline_assets: bool | None = None) -> str:
    """Return the HTML fragment of a step-through player for ``data``.

    ``inline_assets`` (default: everywhere but in the website build) puts ``player.css`` and
    ``player.js`` into the fragment, which makes it interactive on its own in a Jupyter
    front end; without them (the site's pages load both) or without JavaScript it shows a
    static summary of every preset's final frame.
    """
    validate(data)
    if inline_assets is None:
        inline_assets = not in_site_build()  # the site's pages load player.js/.css once
    dom = _dom_id(data["id"])
    first = data["presets"][0]["key"]
    live = ' data-live="true"' if data.get("live") else ""
    style = script = ""
    if inline_assets:
        js, css = assets()
        # a style sheet cannot end the <style> early, a script not its <script>: neither
        # contains "</" (tests/book/test_player.py checks)
        style, script = f"<style>{css}</style>", f"<script>{js}</script>"
    return (
        f'{style}<div class="ttu-player" id="{html.escape(dom)}" '
        f'data-player-id="{html.escape(data["id"])}" '
        f'data-frame-index="0" data-preset="{html.escape(first)}"'
        f'{live}>'
        f'<script type="application/json" class="ttu-player-data">{_json_for_script(data)}'
        "</script>"
        f'<div class="ttu-static">{_static_summary(data)}</div>'
        f"</div>{script}"
    )


def example_data(player_id: str = "example", nr: int = 16) -> dict[str, Any]:
    """A small hand-made trace in the player format (for the demo page and tests).

    One 64 KiB folio (``nr`` pages) mapped by one task; the first half of the pages is
    PageAnonExclusive. Two presets: the batched unmap (one batch cut into two sub-batches)
    and a per-PTE unmap of the first four PTEs.
    """
    half = nr // 2
    columns = [
        {"mm": "task", "addr": f"0x{0x7F0000000000 + i * 0x1000:x}", "page": i} for i in range(nr)
    ]
    pages = "E" * half + "N" * (nr - half)

    def counters(ptep_get, reads, writes, tlb, barriers):
        return {
            "ptep_get": ptep_get,
            "pte_reads": reads,
            "pte_writes": writes,
            "tlb_ops": tlb,
            "barriers": barriers,
        }

    present = ["Wc"] * nr
    batched = [
        {"event": "walk", "fn": "page_vma_mapped_walk",
         "text": "The walk stops at the first PTE that maps the folio.",
         "ptes": present, "pages": pages, "highlight": [0, 1],
         "counters": counters(1, 1, 0, 0, 0)},
        {"event": "batch", "fn": "folio_unmap_pte_batch",
         "text": f"folio_unmap_pte_batch() returns nr = {nr}.",
         "ptes": present, "pages": pages, "highlight": [0, nr],
         "counters": counters(2, nr + 1, 0, 0, 0)},
        {"event": "sub_batch", "fn": "page_anon_exclusive_batch",
         "text": f"Pages 0-{half - 1} are exclusive: the first sub-batch has {half} pages.",
         "ptes": present, "pages": pages, "highlight": [0, half],
         "counters": counters(2, nr + 1, 0, 0, 0)},
        {"event": "clear", "fn": "get_and_clear_ptes",
         "text": f"get_and_clear_ptes() clears all {nr} PTEs in one call.",
         "ptes": ["-"] * nr, "pages": pages, "highlight": [0, nr],
         "counters": counters(2, nr + 1, nr, 1, 0)},
        {"event": "swap_ptes", "fn": "set_ptes",
         "text": f"Swap PTEs for pages 0-{half - 1}, with the exclusive marker.",
         "ptes": ["X"] * half + ["-"] * (nr - half), "pages": pages, "highlight": [0, half],
         "counters": counters(2, nr + 1, nr + half, 1, 2)},
        {"event": "swap_ptes", "fn": "set_ptes",
         "text": f"Swap PTEs for pages {half}-{nr - 1}, without the marker.",
         "ptes": ["X"] * half + ["S"] * (nr - half), "pages": "N" * nr,
         "highlight": [half, nr], "counters": counters(2, nr + 1, 2 * nr, 1, 2)},
    ]
    per_pte = []
    ptes = list(present)
    for i in range(4):
        ptes = list(ptes)
        ptes[i] = "X" if pages[i] == "E" else "S"
        per_pte.append(
            {"event": "pte", "fn": "try_to_unmap_one",
             "text": f"Iteration {i + 1}: one PTE (page {i}) becomes a swap PTE.",
             "ptes": ptes, "pages": "N" * (i + 1) + pages[i + 1:], "highlight": [i, i + 1],
             "counters": counters(i + 1, 16 * (i + 1), i + 1, i + 1, 2 * (i + 1))}
        )
    return {
        "id": player_id,
        "title": f"Unmapping a {nr * 4} KiB folio, half exclusive (illustrative data)",
        "presets": [
            {"key": "batched", "label": "Batched (the series)",
             "description": "One batch of all PTEs, cut into two sub-batches of equal exclusivity.",
             "columns": columns, "frames": batched},
            {"key": "per-pte", "label": "One PTE at a time (before)",
             "description": "The loop before the series: one PTE per iteration.",
             "columns": columns, "frames": per_pte},
        ],
    }
