"""Seeded exercises over simcore: generators, checkers, and the book's built-in instances.

Each topic is one module (read it in one sitting) with the same shape:

* ``generate(seed, difficulty=1) -> Instance`` — uses only ``random.Random(seed)``
  (`base.rng_for`);
  the scenario is a dict `simcore.from_dict` accepts; the canonical ``answer`` is read off a run
  of simcore, never typed in;
* ``check(instance, text) -> Feedback`` — lenient about spaces and case; a wrong answer gets the
  *first* thing wrong, explained; an unreadable one gets how to write it;
* ``count(difficulty)`` — how many distinct instances the generator can make (exact, from its
  parameter space);
* ``wrong_answers(instance)`` — the typical wrong answers (used by the tests and, through
  `client_check_data`, by the static site's offline hints).

Topics: ``batches``, ``sub-batches``, ``swap-markers``, ``partial-failure``, ``bug-zoo``,
``costs``, ``sparc64``. Difficulty is 1, 2 or 3. Like OSTEP's homework simulators: a seed gives
a fresh instance, and the same seed always gives the same one.

>>> from classroom import exercises
>>> inst = exercises.generate("sub-batches", seed=7, difficulty=1)
>>> exercises.check(inst, inst.answer).correct
True
"""

from __future__ import annotations

from classroom.exercises import (
    batches,
    bug_zoo,
    costs,
    partial_failure,
    sparc64,
    sub_batches,
    swap_markers,
)
from classroom.exercises.base import DIFFICULTIES, AnswerError, Feedback, Instance, bounded
from classroom.exercises.client import NORMALIZE_JS, client_check_data, normalize

TOPICS = {m.TOPIC: m for m in (batches, sub_batches, swap_markers, partial_failure, bug_zoo,
                               costs, sparc64)}

#: Chapters of the book (DESIGN.md §4) -> the built-in instances: (topic, seed, difficulty).
#: Seeds were chosen (the smallest that fits, with `random.Random`) so that each instance shows
#: the chapter's point; tests/classroom/test_exercises.py checks each point, not the seed.
CHAPTERS: dict[str, tuple[tuple[str, int, int], ...]] = {
    # a baseline unmap's markers; what baseline costs on x86; x86 baseline: one PTE at a time
    "background": (("swap-markers", 1, 1), ("costs", 1, 1), ("sparc64", 7, 1)),
    # a write-bit cut; two features; a folio straddling a PMD boundary
    "batching": (("batches", 2, 1), ("batches", 0, 2), ("batches", 2, 3)),
    # head-indexing gives a different answer (twice); a pinned folio in patched mode
    "anon-exclusive": (("sub-batches", 0, 1), ("sub-batches", 0, 3), ("swap-markers", 0, 2)),
    # sparc64 patched swap-backed stays at 1; sparc64 lazyfree is batched; ADI tag saves
    "sparc64": (("sparc64", 15, 1), ("sparc64", 8, 2), ("sparc64", 2, 3)),
    # a failure after some pages went to swap; a pin where the modes differ; skip-accounting
    "partial-failure": (("partial-failure", 0, 1), ("partial-failure", 0, 2),
                        ("bug-zoo", 14, 2)),
    # arm64 baseline (unfolds); arm64 patched; arm64 with BBML2, baseline
    "contpte": (("costs", 4, 3), ("costs", 0, 3), ("costs", 1, 3)),
    # x86 patched; arm64 patched
    "performance": (("costs", 7, 1), ("costs", 0, 2)),
    # three variants: exclusivity-from-head, stale-nr-pages, cross-pmd
    "classroom": (("bug-zoo", 1, 1), ("bug-zoo", 7, 2), ("bug-zoo", 9, 3)),
}


#: Seeds are at most nine digits (students' seeds are below 1,000,000).
MAX_SEED = 999_999_999


class ExerciseError(ValueError):
    """An unknown topic or chapter, or a bad seed or difficulty; the message is one line."""


def topics() -> list[str]:
    return list(TOPICS)


def topic_module(topic: str):
    mod = TOPICS.get(topic)
    if mod is None:
        raise ExerciseError(f"unknown topic {topic!r} (choose one of {', '.join(TOPICS)})")
    return mod


def _validate(seed, difficulty) -> tuple[int, int]:
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        shown = repr(seed) if len(repr(seed)) <= 20 else repr(seed)[:20] + "..."
        raise ExerciseError(f"seed must be a whole number from 0 to {MAX_SEED:,}, not {shown}")
    if isinstance(difficulty, bool) or difficulty not in DIFFICULTIES:
        raise ExerciseError(f"difficulty must be 1, 2 or 3, not {difficulty!r}")
    return seed, difficulty


def generate(topic: str, seed: int, difficulty: int = 1) -> Instance:
    """The instance of ``topic`` for this seed and difficulty (the same every time)."""
    mod = topic_module(topic)
    seed, difficulty = _validate(seed, difficulty)
    return mod.generate(seed, difficulty)


def check(instance: Instance, answer_text: str) -> Feedback:
    """Grade ``answer_text``; on a wrong answer the message explains the first thing wrong.

    Any text is fine: answers beyond the limits of `base.bounded` (length, digits) get a
    one-line explanation, like any unreadable answer, in bounded time and memory."""
    mod = topic_module(instance.topic)
    try:
        text = bounded(answer_text)
    except AnswerError as e:
        return Feedback(False, f"I could not read your answer: {e}. Write it as "
                        f"{instance.answer_format}.")
    return mod.check(instance, text)


def count_instances(topic: str, difficulty: int = 1) -> int:
    """How many distinct instances the generator of ``topic`` makes at this difficulty."""
    mod = topic_module(topic)
    _validate(0, difficulty)
    return mod.count(difficulty)


def builtin(chapter: str) -> list[Instance]:
    """The fixed-seed instances the book shows in ``chapter``."""
    if chapter not in CHAPTERS:
        raise ExerciseError(f"unknown chapter {chapter!r} (choose one of {', '.join(CHAPTERS)})")
    return [generate(t, s, d) for t, s, d in CHAPTERS[chapter]]


def note(seed: int = 1, difficulty: int = 2) -> str:
    """A Markdown note for instructors: each topic, its instance counts, one example instance.

    Computed, not typed: the counts come from the generators, the example is a real instance.
    """
    out = ["| topic | chapter | what the student does | distinct instances (d1 / d2 / d3) |",
           "|---|---|---|---|"]
    for t, mod in TOPICS.items():
        counts = " / ".join(f"{count_instances(t, d):,}" for d in DIFFICULTIES)
        summary = mod.SUMMARY.replace("|", "\\|")
        out.append(f"| `{t}` | {mod.CHAPTER} | {summary} | {counts} |")
    for t in TOPICS:
        inst = generate(t, seed, difficulty)
        out += ["", f"### `{t}` — `{inst.command}`", "", "```", inst.strip, "```", "",
                inst.question, "", f"*Answer format:* {inst.answer_format}", "",
                f"*Answer:* `{inst.answer}`"]
    return "\n".join(out) + "\n"


__all__ = ["CHAPTERS", "NORMALIZE_JS", "TOPICS", "AnswerError", "ExerciseError", "Feedback",
           "Instance", "builtin", "check", "client_check_data", "count_instances", "generate",
           "normalize", "note", "topic_module", "topics"]
