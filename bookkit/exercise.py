"""Exercises on the page: the question, an answer box, a check, and a hidden solution.

`exercise(chapter, i)` wraps the i-th built-in instance of `classroom.exercises.builtin(chapter)`;
`my_exercise(topic, difficulty)` the student's own instance (`classroom.identity`).
Displayed, it shows the question and the scenario; on the website its answer box is checked in
the browser (the page holds only salted hashes of the accepted answers and sealed hints, from
`classroom.exercises.client_check_data`, checked by the same normalisation in JavaScript); in
Jupyter, ``ex.check("...")`` grades with the Python checker. ``ex.solution()`` is the worked
answer; chapters show it in a separate cell tagged ``solution``, which the student edition
drops.
"""

from __future__ import annotations

import html
import json

from IPython.display import HTML

from classroom import exercises
from classroom.exercises import NORMALIZE_JS, client_check_data

#: Wires every .ttu-exercise on the page once (event delegation); loaded inline with the first
#: exercise so the page needs no extra file.
_WIRING = NORMALIZE_JS + r"""
window.simcoreCheck = simcoreCheck;
async function ttuExerciseCheck(box) {
  const data = JSON.parse(box.querySelector("script.ttu-ex-data").textContent);
  const input = box.querySelector("input");
  const out = box.querySelector(".ttu-ex-feedback");
  const res = await simcoreCheck(data, input.value);
  out.textContent = res.message;
  out.className = "ttu-ex-feedback " + (res.correct ? "ok" : "wrong");
  box.dataset.result = res.correct ? "correct" : "wrong";
}
document.addEventListener("click", ev => {
  const b = ev.target.closest(".ttu-exercise button.ttu-ex-check");
  if (b) ttuExerciseCheck(b.closest(".ttu-exercise"));
});
document.addEventListener("keydown", ev => {
  if (ev.key === "Enter" && ev.target.matches(".ttu-exercise input")) {
    ev.preventDefault();
    ttuExerciseCheck(ev.target.closest(".ttu-exercise"));
  }
});
"""

_STYLE = (".ttu-exercise{border:1px solid #8886;border-radius:6px;padding:.6em .9em;"
          "margin:.8em 0}.ttu-exercise pre{overflow-x:auto;font-size:.8em}"
          ".ttu-ex-feedback.ok{color:#1b7a1b}.ttu-ex-feedback.wrong{color:#c62828}"
          "html[data-theme=dark] .ttu-ex-feedback.ok{color:#7ddc7d}"
          "html[data-theme=dark] .ttu-ex-feedback.wrong{color:#ff8a80}"
          ".ttu-exercise input{min-width:min(28em,100%);max-width:100%}")


class Exercise:
    """One built-in exercise instance, displayable in a notebook and on the website."""

    def __init__(self, instance, number: str = "") -> None:
        self.instance = instance
        self.number = number

    @property
    def dom_id(self) -> str:
        i = self.instance
        return f"ex-{i.topic}-{i.seed}-{i.difficulty}"

    def check(self, answer: str):
        """Grade ``answer`` with the Python checker (the same verdict the site gives)."""
        return exercises.check(self.instance, answer)

    def _repr_html_(self) -> str:
        i = self.instance
        data = json.dumps(client_check_data(i)).replace("</", "<\\/")
        label = f"Your answer ({html.escape(i.answer_format)})"
        title = html.escape(i.title or i.topic)
        return (
            f"<style>{_STYLE}</style>"
            f"<div class='ttu-exercise' id='{self.dom_id}' data-topic='{i.topic}' "
            f"data-seed='{i.seed}' data-difficulty='{i.difficulty}'>"
            f"<p><b>Exercise{(' ' + html.escape(self.number)) if self.number else ''}: "
            f"{title}</b></p>"
            f"<p class='ttu-ex-question' style='white-space:pre-line'>"
            f"{html.escape(i.question)}</p>"
            + (f"<pre class='ttu-ex-strip'>{html.escape(i.strip)}</pre>" if i.strip else "")
            + f"<label for='{self.dom_id}-in'>{label}</label><br>"
            f"<input id='{self.dom_id}-in' type='text' autocomplete='off' spellcheck='false'> "
            f"<button type='button' class='ttu-ex-check'>Check</button>"
            f"<p class='ttu-ex-feedback' role='status' aria-live='polite'></p>"
            f"<p class='ttu-ex-note'><small>In Jupyter: <code>ex.check(\"your answer\")</code>. "
            f"Reproduce: <code class='ttu-ex-command'>{html.escape(i.command)}</code></small></p>"
            f"<script type='application/json' class='ttu-ex-data'>{data}</script>"
            f"<script>if(!window.__ttuExercises){{window.__ttuExercises=1;{_WIRING}}}</script>"
            "</div>")

    def solution(self) -> HTML:
        """The worked answer, folded (`<details>`); shown only in the instructor edition."""
        i = self.instance
        return HTML(
            "<details class='solution ttu-solution'><summary>Solution</summary>"
            f"<p><b>Answer:</b> <code>{html.escape(i.answer)}</code></p>"
            f"<pre style='white-space:pre-wrap'>{html.escape(i.explanation)}</pre></details>")


def exercise(chapter: str, index: int) -> Exercise:
    """The ``index``-th built-in exercise of ``chapter`` (see classroom.exercises.CHAPTERS)."""
    inst = exercises.builtin(chapter)[index]
    return Exercise(inst, number=str(index + 1))


def my_exercise(topic: str, difficulty: int = 1, secret: str | None = None) -> Exercise:
    """This student's own instance of ``topic``: the seed comes from their identity and the
    course secret (`classroom.identity.student_id`, ``CLASSROOM_SECRET``)."""
    from classroom.identity import my_exercise as mine

    return Exercise(mine(topic, difficulty, secret))


def topics_table() -> str:
    """An HTML table: each topic, what it asks, and how many instances each difficulty has."""
    rows = []
    for t in exercises.topics():
        mod = exercises.topic_module(t)
        doc = (mod.__doc__ or "").strip().splitlines()[0]
        if doc.startswith("Topic ") and ":" in doc:
            doc = doc.split(":", 1)[1].strip()
        counts = " / ".join(f"{exercises.count_instances(t, d):,}" for d in (1, 2, 3))
        rows.append(f"<tr><td><code>{t}</code></td><td>{html.escape(doc)}</td>"
                    f"<td style='text-align:right'>{counts}</td></tr>")
    return ("<table><thead><tr><th scope='col'>topic</th><th scope='col'>asks</th>"
            "<th scope='col'>instances (difficulty 1 / 2 / 3)</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>")
