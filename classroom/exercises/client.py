"""What a static web page needs to check an answer offline, without the answer in plain text.

`client_check_data(instance)` gives a JSON-able dict:

``normalize``
    how to turn what the student typed into a canonical string (below);
``salt``, ``accept``
    the SHA-256 (hex) of ``salt + normalized`` for every accepted answer — the answer itself is
    not in the page;
``hints``
    ``{"sha256", "message_xor"}`` for the most common wrong answers (each topic's
    ``wrong_answers()``: the other mode's answer, exclusivity read from the folio head, a missed
    PMD boundary, accounting skipped …): ``sha256`` identifies the wrong answer like ``accept``
    does, and the message — exactly what the Python checker says about that answer, so the site
    can explain the first thing wrong offline — is encrypted with a key only that wrong answer
    gives (it would otherwise tell the right values to whoever reads the page source): UTF-8
    bytes XOR the concatenated SHA-256 digests of ``salt + "hint/" + i + "/" + normalized`` for
    i = 0, 1, …, then base64;
``fallback``, ``malformed``
    what to say for any other wrong answer, and for input that does not normalize.

Normalization, by ``normalize.kind`` (the JavaScript in `NORMALIZE_JS` does the same; the
tests run both on the same inputs):

Every kind but ``fields`` also has ``normalize.pattern``, a regular expression (the same in
Python and JavaScript) the whole normalized string must match; otherwise the input is
malformed.

``list`` (batches, sub-batches)
    upper-case; delete all whitespace and parentheses; split on ``,`` and ``;``; drop empty
    items; in each item, split on ``:`` and write every all-digit part as a decimal number
    without leading zeros; rejoin the parts with ``:`` and the items with ``,``.
``letters`` (swap-markers)
    upper-case; delete whitespace, ``,``, ``;`` and ``|``; replace ``W`` and ``R`` by ``P``.
``sizes`` (sparc64)
    lower-case; ``×`` and ``*`` become ``x``; split on commas, semicolons and whitespace; drop
    empty items; an item ``N`` stays, ``NxK`` becomes K copies of N; any other item makes the
    input malformed; join with ``,``.
``codes`` (bug-zoo)
    lower-case; split on commas, semicolons and whitespace; drop empty items; ``-`` becomes
    ``_``; sort, drop duplicates, join with ``,``.
``fields`` (partial-failure, costs, sparc64 and bug-zoo at difficulty 3)
    split on ``;`` and newlines; drop empty parts; each part is ``key=value`` (or
    ``key:value``); the key is trimmed, lower-cased, runs of whitespace and ``-`` become ``_``,
    then mapped through ``normalize.aliases`` (an unknown key makes the input malformed); the
    value is normalized by ``normalize.types[key]``: ``int`` → decimal; ``delta`` → ``+N``,
    ``0`` or ``-N``; ``pageset`` → the pages of items ``a``, ``a-b`` or ``a..b`` (separated by
    commas or whitespace; empty, ``none`` or ``-`` = no pages) sorted, runs of two or more
    written ``a-b``, joined by ``,``, or ``none``; ``sizes`` / ``codes`` as above; ``name`` →
    trimmed, lower-cased, ``_`` becomes ``-``. Output: ``key=value`` for each key of
    ``normalize.keys`` in that order, joined by ``;`` (a missing key makes the input
    malformed).

Limits (the same as the Python checker's, `base.bounded`): input longer than
MAX_ANSWER_CHARS characters, or with a run of more than MAX_DIGITS digits, is malformed before
anything else; so is a page (``pageset``) of MAX_PAGES or more, and more than MAX_PAGES sizes
after expanding repetitions (``sizes``). So a hostile answer costs the page as little as a
sloppy one: nothing expands beyond a folio.

Hash: ``sha256(salt + normalized)`` over UTF-8, lower-case hex. The salt is
``simcore-hw/<topic>/<seed>/<difficulty>/``.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

from classroom.exercises.base import (
    MAX_ANSWER_CHARS,
    MAX_DIGITS,
    MAX_PAGES,
    Instance,
    fmt_pageset,
)

SALT = "simcore-hw/{topic}/{seed}/{difficulty}/"


def salt_for(inst: Instance) -> str:
    return SALT.format(topic=inst.topic, seed=inst.seed, difficulty=inst.difficulty)


def digest(salt: str, normalized: str) -> str:
    return hashlib.sha256((salt + normalized).encode("utf-8")).hexdigest()


def keystream(salt: str, normalized: str, n: int) -> bytes:
    out = b""
    i = 0
    while len(out) < n:
        out += hashlib.sha256(f"{salt}hint/{i}/{normalized}".encode()).digest()
        i += 1
    return out[:n]


def seal(salt: str, normalized: str, message: str) -> str:
    """Encrypt a hint so that only the wrong answer it is about can read it."""
    data = message.encode("utf-8")
    ks = keystream(salt, normalized, len(data))
    return base64.b64encode(bytes(a ^ b for a, b in zip(data, ks, strict=True))).decode("ascii")


def unseal(salt: str, normalized: str, sealed: str) -> str:
    data = base64.b64decode(sealed)
    ks = keystream(salt, normalized, len(data))
    return bytes(a ^ b for a, b in zip(data, ks, strict=True)).decode("utf-8")


# -- the normalizers (mirrored by NORMALIZE_JS) ------------------------------------------------
def _int(s: str) -> str | None:
    s = s.strip().replace("\u2212", "-")
    if not re.fullmatch(r"[+-]?\d+", s):
        return None
    return str(int(s))


def _delta(s: str) -> str | None:
    v = _int(s)
    if v is None:
        return None
    n = int(v)
    return f"+{n}" if n > 0 else str(n)


def _pageset(s: str) -> str | None:
    t = s.strip().lower()
    if t in ("", "none", "-"):
        return "none"
    pages: set[int] = set()
    for item in re.split(r"[,\s]+", t):
        if not item:
            continue
        m = re.fullmatch(r"(\d+)(?:(?:-|\.\.)(\d+))?", item)
        if not m:
            return None
        a = int(m.group(1))
        b = int(m.group(2)) if m.group(2) else a
        if b < a or b >= MAX_PAGES:
            return None
        pages.update(range(a, b + 1))
    return fmt_pageset(pages)


def _sizes(s: str) -> str | None:
    t = s.lower().replace("\u00d7", "x").replace("*", "x")
    out: list[str] = []
    for item in re.split(r"[,;\s]+", t):
        if not item:
            continue
        m = re.fullmatch(r"(\d+)(?:x(\d+))?", item)
        if not m:
            return None
        k = int(m.group(2)) if m.group(2) else 1
        if len(out) + k > MAX_PAGES:
            return None
        out += [str(int(m.group(1)))] * k
    return ",".join(out) if out else None


def _codes(s: str) -> str | None:
    items = sorted({x.replace("-", "_") for x in re.split(r"[,;\s]+", s.lower()) if x})
    return ",".join(items) if items else None


def _list(s: str) -> str | None:
    t = re.sub(r"[\s()]+", "", s.upper())
    items = []
    for item in re.split(r"[,;]", t):
        if not item:
            continue
        items.append(":".join(str(int(p)) if re.fullmatch(r"[0-9]+", p) else p
                              for p in item.split(":")))
    return ",".join(items) if items else None


def _letters(s: str) -> str | None:
    t = re.sub(r"[\s,;|]+", "", s.upper()).replace("W", "P").replace("R", "P")
    return t or None


VALUE = {"int": _int, "delta": _delta, "pageset": _pageset, "sizes": _sizes, "codes": _codes,
         "name": lambda s: s.strip().lower().replace("_", "-") or None}


def _fields(s: str, spec: dict[str, Any]) -> str | None:
    vals: dict[str, str] = {}
    for part in re.split(r"[;\n]+", s):
        part = part.strip()
        if not part:
            continue
        m = re.fullmatch(r"([^=:]+?)\s*[=:]\s*(.*)", part, flags=re.S)
        if not m:
            return None
        key = re.sub(r"[\s\-]+", "_", m.group(1).strip().lower())
        key = spec["aliases"].get(key)
        if key is None:
            return None
        v = VALUE[spec["types"][key]](m.group(2))
        if v is None:
            return None
        vals[key] = v
    if any(k not in vals for k in spec["keys"]):
        return None
    return ";".join(f"{k}={vals[k]}" for k in spec["keys"])


def normalize(spec: dict[str, Any], text: str) -> str | None:
    """The canonical form of ``text`` under ``spec`` (a ``normalize`` dict), or None."""
    text = text or ""
    if len(text) > MAX_ANSWER_CHARS or re.search(rf"\d{{{MAX_DIGITS + 1}}}", text):
        return None
    kind = spec["kind"]
    if kind == "fields":
        return _fields(text, spec)
    n = {"list": _list, "letters": _letters, "sizes": _sizes, "codes": _codes}[kind](text)
    if n is not None and "pattern" in spec and not re.fullmatch(spec["pattern"], n):
        return None
    return n


# -- per-topic specs and the data ----------------------------------------------------------------
def spec_for(inst: Instance) -> dict[str, Any]:
    from classroom.exercises import TOPICS

    mod = TOPICS[inst.topic]
    t, d = inst.topic, inst.difficulty
    if t == "partial-failure":
        return {"kind": "fields", "keys": list(mod.KEYS), "types": dict(mod.TYPES),
                "aliases": dict(mod.ALIASES)}
    if t == "costs":
        keys = list(mod.KEYS[d])
        return {"kind": "fields", "keys": keys, "types": {k: "int" for k in keys},
                "aliases": {a: k for a, k in mod.ALIASES.items() if k in keys}}
    if t == "sparc64" and d == 3:
        return {"kind": "fields", "keys": ["sizes", "adi"],
                "types": {"sizes": "sizes", "adi": "int"},
                "aliases": {"sizes": "sizes", "size": "sizes", "batches": "sizes", "adi": "adi",
                            "adi_saves": "adi", "adi_tags": "adi"}}
    if t == "bug-zoo" and d == 3:
        return {"kind": "fields", "keys": ["violates", "bug"],
                "types": {"violates": "codes", "bug": "name"},
                "aliases": {"violates": "violates", "violated": "violates", "codes": "violates",
                            "invariants": "violates", "bug": "bug", "variant": "bug"}}
    pattern = {
        "batches": r"\d+:\d+(,\d+:\d+)*",
        "sub-batches": r"\d+:\d+:[EN](,\d+:\d+:[EN])*",
        "swap-markers": f"[XSP-]{{{len(inst.answer)}}}",
        "bug-zoo": "[a-z_]+(,[a-z_]+)*",
        "sparc64": r"\d+(,\d+)*",
    }[t]
    return {"kind": mod.NORMALIZE, "pattern": pattern}


def accepted(inst: Instance) -> list[str]:
    """Every answer text the checker accepts outright (more than one only for bug-zoo d1)."""
    if inst.topic == "bug-zoo" and inst.difficulty == 1:
        return list(inst.data["codes"])
    return [inst.answer]


def client_check_data(inst: Instance) -> dict[str, Any]:
    from classroom.exercises import TOPICS

    mod = TOPICS[inst.topic]
    spec = spec_for(inst)
    salt = salt_for(inst)
    accept = []
    for a in accepted(inst):
        n = normalize(spec, a)
        assert n is not None, (inst.topic, a)
        accept.append(digest(salt, n))
    hints = []
    seen = set(accept)
    for _kind, text in mod.wrong_answers(inst).items():
        n = normalize(spec, text)
        if n is None:
            continue
        h = digest(salt, n)
        if h in seen:
            continue
        fb = mod.check(inst, text)
        if fb.correct:
            continue
        seen.add(h)
        hints.append({"sha256": h, "message_xor": seal(salt, n, fb.message)})
    return {
        "topic": inst.topic, "seed": inst.seed, "difficulty": inst.difficulty,
        "format": inst.answer_format, "normalize": spec, "salt": salt, "accept": accept,
        "hints": hints,
        "fallback": ("Not right yet. Check each part against the rules of this chapter; the "
                     "worked answer is in the solution."),
        "malformed": f"I could not read that. Write it as {inst.answer_format}.",
    }


#: The same normalization in JavaScript, plus the check itself (async: WebCrypto's SHA-256).
#: ``await simcoreCheck(data, text)`` returns ``{correct: bool, message: string}``.
NORMALIZE_JS = r"""
function simcoreNormalize(spec, text) {
  text = text || "";
  const LIMIT = {chars: __MAX_CHARS__, digits: __MAX_DIGITS__, pages: __MAX_PAGES__};
  if (text.length > LIMIT.chars || new RegExp("\\d{" + (LIMIT.digits + 1) + "}").test(text))
    return null;
  const int = s => { s = s.trim().replace(/\u2212/g, "-");
    return /^[+-]?\d+$/.test(s) ? String(parseInt(s, 10)) : null; };
  const delta = s => { const v = int(s); if (v === null) return null;
    const n = parseInt(v, 10); return n > 0 ? "+" + n : String(n); };
  const pageset = s => {
    const t = s.trim().toLowerCase();
    if (t === "" || t === "none" || t === "-") return "none";
    const pages = new Set();
    for (const item of t.split(/[,\s]+/)) {
      if (!item) continue;
      const m = /^(\d+)(?:(?:-|\.\.)(\d+))?$/.exec(item);
      if (!m) return null;
      const a = parseInt(m[1], 10), b = m[2] ? parseInt(m[2], 10) : a;
      if (b < a || b >= LIMIT.pages) return null;
      for (let p = a; p <= b; p++) pages.add(p);
    }
    const ps = [...pages].sort((x, y) => x - y);
    if (!ps.length) return "none";
    const out = [];
    for (let i = 0; i < ps.length;) {
      let j = i;
      while (j + 1 < ps.length && ps[j + 1] === ps[j] + 1) j++;
      out.push(i === j ? String(ps[i]) : ps[i] + "-" + ps[j]);
      i = j + 1;
    }
    return out.join(",");
  };
  const sizes = s => {
    const t = s.toLowerCase().replace(/\u00d7/g, "x").replace(/\*/g, "x");
    const out = [];
    for (const item of t.split(/[,;\s]+/)) {
      if (!item) continue;
      const m = /^(\d+)(?:x(\d+))?$/.exec(item);
      if (!m) return null;
      const k = m[2] ? parseInt(m[2], 10) : 1;
      if (out.length + k > LIMIT.pages) return null;
      for (let i = 0; i < k; i++) out.push(String(parseInt(m[1], 10)));
    }
    return out.length ? out.join(",") : null;
  };
  const codes = s => {
    const items = [...new Set(s.toLowerCase().split(/[,;\s]+/).filter(x => x)
      .map(x => x.replace(/-/g, "_")))].sort();
    return items.length ? items.join(",") : null;
  };
  const list = s => {
    const t = s.toUpperCase().replace(/[\s()]+/g, "");
    const items = t.split(/[,;]/).filter(x => x).map(item => item.split(":")
      .map(p => /^\d+$/.test(p) ? String(parseInt(p, 10)) : p).join(":"));
    return items.length ? items.join(",") : null;
  };
  const letters = s => {
    const t = s.toUpperCase().replace(/[\s,;|]+/g, "").replace(/[WR]/g, "P");
    return t || null;
  };
  const name = s => s.trim().toLowerCase().replace(/_/g, "-") || null;
  const value = {int, delta, pageset, sizes, codes, name};
  if (spec.kind === "fields") {
    const vals = {};
    for (let part of text.split(/[;\n]+/)) {
      part = part.trim();
      if (!part) continue;
      const m = /^([^=:]+?)\s*[=:]\s*([\s\S]*)$/.exec(part);
      if (!m) return null;
      const key = spec.aliases[m[1].trim().toLowerCase().replace(/[\s\-]+/g, "_")];
      if (key === undefined) return null;
      const v = value[spec.types[key]](m[2]);
      if (v === null) return null;
      vals[key] = v;
    }
    if (spec.keys.some(k => !(k in vals))) return null;
    return spec.keys.map(k => k + "=" + vals[k]).join(";");
  }
  const n = {list, letters, sizes, codes}[spec.kind](text);
  if (n !== null && spec.pattern && !new RegExp("^(?:" + spec.pattern + ")$").test(n)) return null;
  return n;
}

async function simcoreSha256(text) {
  const bytes = new TextEncoder().encode(text);
  if (globalThis.crypto && crypto.subtle) {
    return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  }
  return simcoreSha256Js(bytes);   // plain http from another host: no WebCrypto there
}

// FIPS 180-4 SHA-256 in plain JavaScript, for pages served without TLS (a class server).
// The round constants K and the initial hash H are generated by client.py (_sha256_constants).
function simcoreSha256Js(bytes) {
  const K = [__SHA256_K__], H = [__SHA256_H__];
  const len = bytes.length, total = ((len + 9 + 63) >> 6) << 6;
  const m = new Uint8Array(total);
  m.set(bytes); m[len] = 0x80;
  const bits = len * 8;
  for (let i = 0; i < 8; i++) m[total - 1 - i] = Math.floor(bits / 2 ** (8 * i)) & 0xff;
  const w = new Uint32Array(64), h = Uint32Array.from(H);
  const rotr = (x, n) => (x >>> n) | (x << (32 - n));
  for (let off = 0; off < total; off += 64) {
    for (let i = 0; i < 16; i++) {
      const j = off + 4 * i;
      w[i] = (m[j] << 24) | (m[j + 1] << 16) | (m[j + 2] << 8) | m[j + 3];
    }
    for (let i = 16; i < 64; i++) {
      const s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >>> 3);
      const s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) >>> 0;
    }
    let [a, b, c, d, e, f, g, hh] = h;
    for (let i = 0; i < 64; i++) {
      const t1 = (hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g))
                  + K[i] + w[i]) >>> 0;
      const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) >>> 0;
      hh = g; g = f; f = e; e = (d + t1) >>> 0; d = c; c = b; b = a; a = (t1 + t2) >>> 0;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
  }
  const out = new Uint8Array(32);
  for (let i = 0; i < 8; i++) {
    out[4 * i] = h[i] >>> 24; out[4 * i + 1] = (h[i] >>> 16) & 0xff;
    out[4 * i + 2] = (h[i] >>> 8) & 0xff; out[4 * i + 3] = h[i] & 0xff;
  }
  return out;
}

async function simcoreUnseal(salt, normalized, sealed) {
  const data = Uint8Array.from(atob(sealed), c => c.charCodeAt(0));
  const out = new Uint8Array(data.length);
  for (let i = 0, block = 0; i < data.length; block++) {
    const ks = await simcoreSha256(salt + "hint/" + block + "/" + normalized);
    for (let j = 0; j < 32 && i < data.length; j++, i++) out[i] = data[i] ^ ks[j];
  }
  return new TextDecoder().decode(out);
}

async function simcoreCheck(data, text) {
  const n = simcoreNormalize(data.normalize, text);
  if (n === null) return {correct: false, message: data.malformed};
  const hex = [...await simcoreSha256(data.salt + n)]
    .map(b => b.toString(16).padStart(2, "0")).join("");
  if (data.accept.includes(hex)) return {correct: true, message: "Correct."};
  const hint = data.hints.find(h => h.sha256 === hex);
  if (!hint) return {correct: false, message: data.fallback};
  return {correct: false, message: await simcoreUnseal(data.salt, n, hint.message_xor)};
}
"""


def _sha256_constants() -> tuple[list[int], list[int]]:
    """SHA-256's K (cube roots of the first 64 primes) and H (square roots of the first 8),
    first 32 bits of the fractional parts, computed exactly with integer roots."""
    from math import isqrt

    def icbrt(n: int) -> int:
        x = round(n ** (1 / 3))
        while x ** 3 > n:
            x -= 1
        while (x + 1) ** 3 <= n:
            x += 1
        return x

    primes = [p for p in range(2, 320) if all(p % d for d in range(2, isqrt(p) + 1))][:64]
    k = [icbrt(p << 96) & 0xFFFFFFFF for p in primes]
    h = [isqrt(p << 64) & 0xFFFFFFFF for p in primes[:8]]
    return k, h


_K, _H = _sha256_constants()
NORMALIZE_JS = (NORMALIZE_JS.replace("__SHA256_K__", ",".join(f"0x{x:08x}" for x in _K))
                .replace("__SHA256_H__", ",".join(f"0x{x:08x}" for x in _H))
                .replace("__MAX_CHARS__", str(MAX_ANSWER_CHARS))
                .replace("__MAX_DIGITS__", str(MAX_DIGITS))
                .replace("__MAX_PAGES__", str(MAX_PAGES)))
