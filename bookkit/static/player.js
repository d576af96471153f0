/* The step-through player of the batch-unmap book (static twin of the live widgets).
 *
 * Every div.ttu-player made by bookkit.player.player_html() holds its trace as JSON in
 * script.ttu-player-data and a static summary. This script
 * replaces the summary by the player: preset choice, first/back/play/next/last, a slider, the
 * event of the current step, the folio's PageAnonExclusive strip, one PTE strip per mm, a
 * legend and the cost counters (with the change from the previous step).
 *
 * Vanilla JS, no dependencies. Each player is independent. Hooks for tests: the container's
 * data-frame-index / data-preset / data-playing follow every change, counter cells carry
 * data-counter="name" (and data-counter-change="name"); data-play-ms sets the play speed.
 *
 * On the website this file is loaded once per page. In Jupyter each player's output carries it
 * inline (bookkit.player.player_html), so it may run many times in one page: every run starts
 * the players not started yet, and the numbering of element ids is page-wide.
 */
(function () {
  "use strict";

  var KINDS = {
    "W": ["w", "present, writable"],
    "R": ["r", "present, read-only"],
    "D": ["d", "device-exclusive"],
    "X": ["x", "swap entry with the exclusive marker"],
    "S": ["s", "swap entry without the exclusive marker"],
    "-": ["none", "none (not mapped)"]
  };
  var LEGEND = [
    ["W", "present, writable"],
    ["R", "present, read-only"],
    ["D", "device-exclusive"],
    ["X", "swap, exclusive marker"],
    ["S", "swap, no exclusive marker"],
    ["-", "none"]
  ];
  var PAGES = { "E": "PageAnonExclusive", "N": "not exclusive (may be shared)" };
  var PLAY_MS = 1100;

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        if (k === "text") node.textContent = attrs[k];
        else if (k === "className") node.className = attrs[k];
        else node.setAttribute(k, attrs[k]);
      });
    }
    (children || []).forEach(function (c) {
      node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return node;
  }

  // Transport icons as inline SVG: no icon font, no glyph that a system font may lack.
  var ICONS = {
    first: "M2 3h2v10H2zM14 3v10L5 8z",
    prev: "M12 3v10L4 8z",
    play: "M4 2.5v11L13 8z",
    pause: "M4 3h3v10H4zM9 3h3v10H9z",
    next: "M4 3v10l8-5z",
    last: "M2 3v10l9-5zM12 3h2v10h-2z"
  };
  var SVG_NS = "http://www.w3.org/2000/svg";

  function svgIcon(name) {
    var svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", "0 0 16 16");
    svg.setAttribute("class", "ttu-icon");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var path = document.createElementNS(SVG_NS, "path");
    path.setAttribute("d", ICONS[name]);
    path.setAttribute("fill", "currentColor");
    svg.appendChild(path);
    return svg;
  }

  function describePte(code, col, indexInMm) {
    var kind = KINDS[code.charAt(0)] || ["none", "unknown"];
    var where = "PTE " + indexInMm + " of " + col.mm;
    if (col.addr) where += " at " + col.addr;
    if (col.page !== undefined && col.page !== null) where += " (folio page " + col.page + ")";
    return where + ": " + kind[1] + (code.charAt(1) === "c" ? ", CONT" : "");
  }

  function groupColumns(columns) {
    var order = [];
    var groups = {};
    columns.forEach(function (col, i) {
      if (!groups[col.mm]) {
        groups[col.mm] = [];
        order.push(col.mm);
      }
      groups[col.mm].push(i);
    });
    return order.map(function (mm) { return [mm, groups[mm]]; });
  }

  function counterNames(frames) {
    var names = [];
    frames.forEach(function (f) {
      Object.keys(f.counters || {}).forEach(function (k) {
        if (names.indexOf(k) < 0) names.push(k);
      });
    });
    return names;
  }

  function Player(root) {
    this.root = root;
    this.data = JSON.parse(root.querySelector("script.ttu-player-data").textContent);
    window.ttuPlayerCount = (window.ttuPlayerCount || 0) + 1;  // page-wide: see above
    this.uid = (root.id || "ttu-player") + "-" + window.ttuPlayerCount;
    this.presetIndex = 0;
    this.frame = 0;
    this.timer = null;
    var wanted = root.getAttribute("data-preset");
    var self = this;
    this.data.presets.forEach(function (p, i) { if (p.key === wanted) self.presetIndex = i; });
    this.build();
    this.loadPreset(this.presetIndex);
    root.ttuPlayer = this;
  }

  // Show a preset made in the page (a live run, book/_static/live.js): it replaces the preset
  // with the same key, or is added at the end of the choice, and is shown from its first step.
  Player.prototype.showPreset = function (preset) {
    var presets = this.data.presets;
    var index = presets.length;
    presets.forEach(function (p, i) { if (p.key === preset.key) index = i; });
    presets[index] = preset;
    this.stop();
    if (this.select.options.length <= index) {
      this.select.appendChild(el("option", { value: String(index), text: preset.label }));
    }
    this.select.options[index].textContent = preset.label;
    this.select.disabled = presets.length < 2;
    this.loadPreset(index);
  };

  Player.prototype.build = function () {
    var self = this;
    var data = this.data;
    var uid = this.uid;
    var titleId = uid + "-title";

    this.ui = el("div", { className: "ttu-ui", role: "group", "aria-labelledby": titleId });
    this.ui.appendChild(el("p", { className: "ttu-title", id: titleId, text: data.title }));

    // preset choice
    var top = el("div", { className: "ttu-top" });
    this.select = el("select", { id: uid + "-preset", className: "ttu-select" });
    data.presets.forEach(function (p, i) {
      self.select.appendChild(el("option", { value: String(i), text: p.label }));
    });
    var presetLabel = el("label", { "for": uid + "-preset", className: "ttu-label", text: "Scenario" });
    top.appendChild(el("span", { className: "ttu-field" }, [presetLabel, this.select]));
    if (data.presets.length < 2) this.select.disabled = true;
    this.desc = el("p", { className: "ttu-desc" });
    this.ui.appendChild(top);
    this.ui.appendChild(this.desc);

    // transport controls: the accessible name of each button is its visible word
    var controls = el("div", { className: "ttu-controls" });
    function button(act, word, iconAfter) {
      var wordSpan = el("span", { className: "ttu-word", text: word });
      var icon = svgIcon(act);
      var b = el("button", { type: "button", className: "ttu-btn ttu-" + act, "data-act": act },
        iconAfter ? [wordSpan, icon] : [icon, wordSpan]);
      b.addEventListener("click", function () { self.act(act); });
      controls.appendChild(b);
      return b;
    }
    this.btnFirst = button("first", "First");
    this.btnPrev = button("prev", "Back");
    this.btnPlay = button("play", "Play");
    this.btnNext = button("next", "Next", true);
    this.btnLast = button("last", "Last", true);
    this.ui.appendChild(controls);

    // scrubber
    var scrub = el("div", { className: "ttu-scrub" });
    this.range = el("input", { type: "range", id: uid + "-frame", className: "ttu-range",
      min: "0", max: "0", step: "1", value: "0" });
    this.pos = el("output", { className: "ttu-pos", "for": uid + "-frame" });
    scrub.appendChild(el("label", { "for": uid + "-frame", className: "ttu-label", text: "Step" }));
    scrub.appendChild(this.range);
    scrub.appendChild(this.pos);
    this.range.addEventListener("input", function () {
      self.stop();
      self.show(parseInt(self.range.value, 10));
    });
    this.ui.appendChild(scrub);

    // the current event
    this.event = el("div", { className: "ttu-event", "aria-live": "polite" });
    this.fn = el("code", { className: "ttu-fn" });
    this.text = el("span", { className: "ttu-text" });
    this.event.appendChild(this.fn);
    this.event.appendChild(this.text);
    this.ui.appendChild(this.event);

    // strips and legend
    this.strips = el("div", { className: "ttu-strips" });
    this.ui.appendChild(this.strips);
    var legend = el("ul", { className: "ttu-legend", "aria-label": "Legend" });
    LEGEND.forEach(function (item) {
      var kind = KINDS[item[0]][0];
      legend.appendChild(el("li", {}, [
        el("span", { className: "ttu-swatch ttu-k-" + kind, text: item[0] }), " " + item[1]
      ]));
    });
    legend.appendChild(el("li", {}, [
      el("span", { className: "ttu-swatch ttu-k-w ttu-cont" }, ["W", el("span", { className: "ttu-c", text: "c" })]),
      " CONT bit (arm64)"
    ]));
    legend.appendChild(el("li", {}, [el("span", { className: "ttu-swatch ttu-hl-sample", text: "\u00A0" }), " this step"]));
    legend.appendChild(el("li", {}, [el("span", { className: "ttu-swatch ttu-p-E", text: "E" }), " " + PAGES.E]));
    legend.appendChild(el("li", {}, [el("span", { className: "ttu-swatch ttu-p-N", text: "N" }), " not exclusive"]));
    this.ui.appendChild(legend);

    // counters
    this.counters = el("table", { className: "ttu-counters" });
    this.counters.appendChild(el("caption", { text: "Cost counters after this step" }));
    var head = el("tr", {}, [
      el("th", { scope: "col", text: "counter" }),
      el("th", { scope: "col", text: "value" }),
      el("th", { scope: "col", text: "change" })
    ]);
    this.counters.appendChild(el("thead", {}, [head]));
    this.counterBody = el("tbody");
    this.counters.appendChild(this.counterBody);
    var wrap = el("div", { className: "ttu-counters-wrap" }, [this.counters]);
    this.ui.appendChild(wrap);

    this.select.addEventListener("change", function () {
      self.stop();
      self.loadPreset(parseInt(self.select.value, 10));
    });
    this.ui.addEventListener("keydown", function (ev) { self.onKey(ev); });

    var stat = this.root.querySelector(".ttu-static");
    if (stat) stat.hidden = true;
    this.root.appendChild(this.ui);
    this.root.classList.add("ttu-ready");
  };

  Player.prototype.loadPreset = function (index) {
    var self = this;
    var preset = this.data.presets[index];
    this.presetIndex = index;
    this.preset = preset;
    this.select.value = String(index);
    this.desc.textContent = preset.description || "";
    this.range.max = String(preset.frames.length - 1);

    // strips: the folio's pages, then one row per mm
    this.strips.textContent = "";
    this.pageCells = [];
    var npages = 0;
    preset.frames.forEach(function (f) { npages = Math.max(npages, (f.pages || "").length); });
    if (npages) {
      var prow = el("div", { className: "ttu-row ttu-row-pages" });
      prow.appendChild(el("p", { className: "ttu-rowlabel", text: "folio pages" }));
      var plist = el("ol", { className: "ttu-strip ttu-pages", "aria-label": "folio pages" });
      for (var p = 0; p < npages; p++) {
        var pli = el("li", { className: "ttu-cell" });
        var pletter = el("span", { className: "ttu-letter", "aria-hidden": "true" });
        var psr = el("span", { className: "ttu-sr" });
        pli.appendChild(pletter);
        pli.appendChild(psr);
        plist.appendChild(pli);
        this.pageCells.push([pli, pletter, psr]);
      }
      prow.appendChild(plist);
      this.strips.appendChild(prow);
    }
    this.cells = new Array(preset.columns.length);
    groupColumns(preset.columns).forEach(function (group) {
      var mm = group[0];
      var idxs = group[1];
      var row = el("div", { className: "ttu-row" });
      var first = preset.columns[idxs[0]].addr || "";
      row.appendChild(el("p", { className: "ttu-rowlabel" }, [
        el("span", { className: "ttu-mm", text: mm }),
        first ? el("span", { className: "ttu-addr", text: " PTEs from " + first }) : ""
      ]));
      var list = el("ol", { className: "ttu-strip", "aria-label": "PTEs of " + mm });
      idxs.forEach(function (colIndex, j) {
        var li = el("li", { className: "ttu-cell", "data-col": String(colIndex) });
        var letter = el("span", { className: "ttu-letter", "aria-hidden": "true" });
        var sr = el("span", { className: "ttu-sr" });
        li.appendChild(letter);
        li.appendChild(sr);
        list.appendChild(li);
        self.cells[colIndex] = { li: li, letter: letter, sr: sr, j: j };
      });
      row.appendChild(list);
      self.strips.appendChild(row);
    });

    // counter rows
    this.counterBody.textContent = "";
    this.counterRows = {};
    this.names = counterNames(preset.frames);
    this.names.forEach(function (name) {
      var value = el("td", { className: "ttu-num", "data-counter": name });
      var change = el("td", { className: "ttu-num ttu-change", "data-counter-change": name });
      self.counterBody.appendChild(el("tr", {}, [el("th", { scope: "row" }, [el("code", { text: name })]), value, change]));
      self.counterRows[name] = [value, change];
    });
    this.counters.hidden = this.names.length === 0;

    this.root.setAttribute("data-preset", preset.key);
    this.show(0);
  };

  Player.prototype.show = function (i) {
    var preset = this.preset;
    var n = preset.frames.length;
    i = Math.max(0, Math.min(n - 1, isNaN(i) ? 0 : i));
    this.frame = i;
    var f = preset.frames[i];
    var prev = i > 0 ? preset.frames[i - 1] : null;

    this.range.value = String(i);
    var posText = "step " + (i + 1) + " of " + n;
    this.range.setAttribute("aria-valuetext", posText + (f.fn ? ": " + f.fn : ""));
    this.pos.textContent = posText;
    this.fn.textContent = f.fn || f.event || "";
    this.text.textContent = f.text ? " " + f.text : "";

    var hl = f.highlight || null;
    var self = this;
    preset.columns.forEach(function (col, c) {
      var code = (f.ptes && f.ptes[c]) || "-";
      var kind = KINDS[code.charAt(0)] || KINDS["-"];
      var cont = code.charAt(1) === "c";
      var cell = self.cells[c];
      var inHl = hl && c >= hl[0] && c < hl[1];
      cell.li.className = "ttu-cell ttu-k-" + kind[0] + (cont ? " ttu-cont" : "") + (inHl ? " ttu-hl" : "");
      cell.letter.textContent = "";
      cell.letter.appendChild(document.createTextNode(code.charAt(0)));
      if (cont) cell.letter.appendChild(el("span", { className: "ttu-c", text: "c" }));
      var words = describePte(code, col, cell.j) + (inHl ? " (this step)" : "");
      cell.li.title = words;
      cell.sr.textContent = words;
    });
    var pages = f.pages || "";
    this.pageCells.forEach(function (pc, p) {
      var ch = pages.charAt(p) || "";
      pc[0].className = "ttu-cell ttu-p-" + (ch || "none");
      pc[1].textContent = ch || "\u00A0";
      var words = "page " + p + ": " + (PAGES[ch] || "unknown");
      pc[0].title = words;
      pc[2].textContent = words;
    });

    this.names.forEach(function (name) {
      var cells = self.counterRows[name];
      var v = f.counters ? f.counters[name] : undefined;
      var pv = prev && prev.counters ? prev.counters[name] : undefined;
      cells[0].textContent = v === undefined ? "\u2013" : String(v);
      var delta = "";
      if (prev && v !== undefined) {
        var d = v - (pv === undefined ? 0 : pv);
        if (d !== 0) delta = (d > 0 ? "+" : "\u2212") + String(Math.abs(Math.round(d * 1000) / 1000));
      }
      cells[1].textContent = delta;
      cells[0].parentNode.className = delta ? "ttu-changed" : "";
    });

    this.btnFirst.disabled = this.btnPrev.disabled = i === 0;
    this.btnNext.disabled = this.btnLast.disabled = i === n - 1;
    this.root.setAttribute("data-frame-index", String(i));
    this.root.setAttribute("data-preset", preset.key);
  };

  Player.prototype.setPlaying = function (on) {
    var word = this.btnPlay.querySelector(".ttu-word");
    word.textContent = on ? "Pause" : "Play";
    this.btnPlay.querySelector("path").setAttribute("d", ICONS[on ? "pause" : "play"]);
    this.btnPlay.classList.toggle("ttu-playing", on);
    this.event.setAttribute("aria-live", on ? "off" : "polite");
    this.root.setAttribute("data-playing", on ? "true" : "false");
  };

  Player.prototype.stop = function () {
    if (this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
    this.setPlaying(false);
  };

  Player.prototype.play = function () {
    var self = this;
    var n = this.preset.frames.length;
    if (this.frame >= n - 1) this.show(0);
    this.setPlaying(true);
    var ms = parseInt(this.root.getAttribute("data-play-ms"), 10) || PLAY_MS;
    this.timer = setInterval(function () {
      if (self.frame >= self.preset.frames.length - 1) {
        self.stop();
        return;
      }
      self.show(self.frame + 1);
      if (self.frame >= self.preset.frames.length - 1) self.stop();
    }, ms);
  };

  Player.prototype.act = function (act) {
    var n = this.preset.frames.length;
    var focused = document.activeElement;
    if (act === "play") {
      if (this.timer !== null) this.stop();
      else this.play();
      return;
    }
    this.stop();
    if (act === "first") this.show(0);
    else if (act === "prev") this.show(this.frame - 1);
    else if (act === "next") this.show(this.frame + 1);
    else if (act === "last") this.show(n - 1);
    // keep the focus on a usable control when the focused button becomes disabled
    if (focused && focused.disabled && this.ui.contains(focused)) {
      (act === "first" || act === "prev" ? this.btnNext : this.btnPrev).focus();
    }
  };

  Player.prototype.onKey = function (ev) {
    var t = ev.target;
    if (t === this.range || t === this.select || ev.altKey || ev.ctrlKey || ev.metaKey) return;
    var map = { ArrowLeft: "prev", ArrowRight: "next", Home: "first", End: "last" };
    if (map[ev.key]) {
      ev.preventDefault();
      this.act(map[ev.key]);
    }
  };

  function initAll(scope) {
    var found = (scope || document).querySelectorAll(".ttu-player:not(.ttu-ready)");
    var players = [];
    Array.prototype.forEach.call(found, function (root) {
      try {
        players.push(new Player(root));
      } catch (err) {
        root.classList.add("ttu-broken");
        root.setAttribute("data-error", String(err && err.message || err));
        if (window.console) console.warn("ttu-player: cannot start", root.id, err);
      }
    });
    return players;
  }

  window.ttuPlayer = { init: initAll, version: "1" };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { initAll(document); });
  } else {
    initAll(document);
  }
})();
