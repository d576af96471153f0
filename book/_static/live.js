/* Live scenario editors: simcore runs in the reader's browser (Pyodide in a Web Worker).
 *
 * For every player made with bookkit.frames.player_data(..., live=True) (its root carries
 * data-live="true" and its data a "live" object of choices read from simcore), this script
 * adds a folded editor under the player: start from one of the player's presets, edit the
 * architecture, the folio, the mms and VMAs, the PTE runs and the faults (or the whole JSON),
 * press Run. The first Run starts book/_static/live-worker.mjs, which boots Pyodide from the
 * site; the result is the command line's own `python -m simcore run --json` report (shown
 * under "Result as JSON") and a new preset "Your scenario (live)" in the same player. Bad input
 * gets the command line's one-line error next to the field it names.
 *
 * The scenario travels in the page's URL fragment (#live=<player id>:<base64url JSON>), so a
 * link reproduces it; "Copy as JSON" gives a file `python -m simcore run` accepts unchanged.
 * Without JavaScript, or before Run, the page shows the recorded presets as before.
 *
 * Every exercise box gets "New variant": a fresh seed of the same exercise, generated and then
 * checked by the exercises' own Python code in the same worker (bookkit.liverun).
 *
 * Hooks for tests and benchmarks: the editor's data-live-state (idle, booting, running, done,
 * error), data-live-ms (the last run's time in the worker), data-live-total-ms (Run to
 * result, boot included) and window.ttuLive.
 */
(function () {
  "use strict";

  var RUN_TIMEOUT_MS = 60000;
  var BOOT_TIMEOUT_MS = 300000;
  var FLAGS = [["write", "write"], ["dirty", "dirty"], ["young", "young"],
    ["soft_dirty", "soft-dirty"], ["uffd_wp", "uffd-wp"]];
  var worker = null;
  var booted = false;
  var nextId = 1;
  var waiting = {};
  var editors = [];
  var uid = 0;

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k];
      else if (k === "className") node.className = attrs[k];
      else if (attrs[k] !== null && attrs[k] !== undefined && attrs[k] !== false) {
        node.setAttribute(k, attrs[k] === true ? "" : attrs[k]);
      }
    });
    (children || []).forEach(function (c) {
      if (c !== null && c !== undefined) {
        node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
      }
    });
    return node;
  }

  function clone(x) { return JSON.parse(JSON.stringify(x)); }

  // "12" -> 12; anything that is not a plain integer stays the text typed, so that simcore's
  // validation names it (the same error as the command line gives for that file)
  function intOrText(s) {
    var t = String(s).trim();
    return /^-?\d+$/.test(t) ? parseInt(t, 10) : t;
  }

  // --- URL fragment: #live=<player id>:<base64url of {"s": scenario, "m": mode, "b": bugs}>
  function encodeShare(id, sc, mode, bugs) {
    var bytes = new TextEncoder().encode(JSON.stringify({ s: sc, m: mode, b: bugs }));
    var bin = "";
    bytes.forEach(function (b) { bin += String.fromCharCode(b); });
    return "live=" + encodeURIComponent(id) + ":" +
      btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function decodeShare(hash) {
    var m = /^#?live=([^:]+):([A-Za-z0-9_-]+)$/.exec(hash || "");
    if (!m) return null;
    try {
      var b64 = m[2].replace(/-/g, "+").replace(/_/g, "/");
      var bin = atob(b64 + "===".slice((b64.length + 3) % 4));
      var bytes = new Uint8Array(bin.length);
      for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
      var obj = JSON.parse(new TextDecoder().decode(bytes));
      return { id: decodeURIComponent(m[1]), scenario: obj.s, mode: obj.m, bugs: obj.b || [] };
    } catch (err) {
      return { id: decodeURIComponent(m[1]), broken: true };
    }
  }

  // --- the worker --------------------------------------------------------------------------
  function workerUrl() {
    var s = document.querySelector('script[src*="live.js"]');
    return new URL("live-worker.mjs", s ? s.src : document.baseURI).href;
  }

  function startWorker() {
    if (worker) return worker;
    worker = new Worker(workerUrl(), { type: "module", name: "simcore" });
    worker.onmessage = function (ev) {
      var msg = ev.data;
      if (msg.type === "status") {
        Object.keys(waiting).forEach(function (k) {
          if (waiting[k].onStatus) waiting[k].onStatus(msg.text);
        });
        return;
      }
      if (msg.type === "ready") {
        booted = true;
        window.ttuLive.bootMs = msg.ms;
        return;
      }
      var cb = waiting[msg.id];
      delete waiting[msg.id];
      if (cb) cb(msg);
    };
    worker.onerror = function (ev) {
      ev.preventDefault();
      failAll("Python stopped: " + (ev.message || "the worker failed"));
    };
    return worker;
  }

  function failAll(text) {
    var pending = waiting;
    waiting = {};
    if (worker) worker.terminate();
    worker = null;
    booted = false;
    Object.keys(pending).forEach(function (k) { pending[k]({ type: "failure", text: text }); });
  }

  function askWorker(cmd, args, done, onStatus) {
    var id = nextId++;
    var timer = setTimeout(function () {
      if (waiting[id]) {
        failAll(booted ? "stopped after " + RUN_TIMEOUT_MS / 1000 + " s: this scenario is " +
          "too large to run in the browser; run it with python -m simcore run" :
          "Python did not start within " + BOOT_TIMEOUT_MS / 1000 + " s");
      }
    }, booted ? RUN_TIMEOUT_MS : BOOT_TIMEOUT_MS);
    waiting[id] = function (msg) { clearTimeout(timer); done(msg); };
    waiting[id].onStatus = onStatus || null;
    startWorker().postMessage({ id: id, cmd: cmd, args: args });
  }

  // --- one editor --------------------------------------------------------------------------
  function Editor(root) {
    this.root = root;
    this.player = root.ttuPlayer;
    this.data = this.player.data;
    this.cfg = this.data.live;
    this.starts = this.data.presets.filter(function (p) { return p.scenario; });
    this.id = this.data.id;
    this.n = ++uid;
    this.busy = false;
    this.fieldErrors = [];
    var first = this.starts[0];
    this.sc = clone(first.scenario);
    this.mode = first.mode || "patched";
    this.bugs = (first.bugs || []).slice();
    this.build();
    this.render();
    var shared = decodeShare(window.location.hash);
    if (shared && shared.id === this.id) this.fromShare(shared);
  }

  Editor.prototype.fid = function (name) {
    return "ttu-live-" + this.n + "-" + name.replace(/[^A-Za-z0-9_-]/g, "-");
  };

  // an input (or select) with a visible label and an error slot right after it
  Editor.prototype.field = function (label, input, field, hint) {
    input.id = input.id || this.fid(field);
    input.setAttribute("data-field", field);
    var err = el("span", { className: "ttu-live-err", id: input.id + "-err", hidden: true });
    var parts = [el("label", { "for": input.id, text: label }), input];
    if (hint) parts.push(el("span", { className: "ttu-live-hint", text: hint }));
    parts.push(err);
    return el("span", { className: "ttu-live-field" }, parts);
  };

  Editor.prototype.select = function (options, value, onChange) {
    var s = el("select", {});
    options.forEach(function (o) {
      var v = Array.isArray(o) ? o[0] : o;
      var t = Array.isArray(o) ? o[1] : o;
      s.appendChild(el("option", { value: String(v), text: String(t) }));
    });
    s.value = String(value);
    s.addEventListener("change", function () { onChange(s.value); });
    return s;
  };

  Editor.prototype.build = function () {
    var self = this;
    var cfg = this.cfg;
    this.box = el("details", { className: "ttu-live", "data-live-state": "idle" });
    var summary = el("summary", { text: "Edit this scenario and run it live" });
    this.box.appendChild(summary);
    this.box.appendChild(el("p", { className: "ttu-live-intro", text:
      "Change anything below and press Run: simcore itself runs in this page, and the player " +
      "above shows your scenario as its preset \u201cYour scenario (live)\u201d. The first Run " +
      "loads Python into the page (about 14 MB from this site, once; 5\u201315 s), later runs " +
      "take a fraction of a second. Nothing leaves your browser." }));

    var top = el("div", { className: "ttu-live-row" });
    this.startSel = this.select(this.starts.map(function (p, i) { return [i, p.label]; }), 0,
      function (v) {
        var p = self.starts[parseInt(v, 10)];
        self.sc = clone(p.scenario);
        self.mode = p.mode || "patched";
        self.bugs = (p.bugs || []).slice();
        self.render();
      });
    top.appendChild(this.field("Start from", this.startSel, "start"));
    this.modeSel = this.select(cfg.modes, this.mode, function (v) { self.mode = v; self.sync(); });
    top.appendChild(this.field("Mode", this.modeSel, "--mode"));
    this.bugSel = this.select([["", "none"]].concat(cfg.bugs), "", function (v) {
      self.bugs = v ? [v] : [];
      self.sync();
    });
    top.appendChild(this.field("Bug zoo", this.bugSel, "--bug"));
    this.box.appendChild(top);

    this.form = el("div", { className: "ttu-live-form" });
    this.box.appendChild(this.form);

    this.jsonBox = el("details", { className: "ttu-live-json" });
    this.jsonBox.appendChild(el("summary", { text: "Scenario as JSON (every field)" }));
    this.json = el("textarea", { rows: "12", spellcheck: "false" });
    var apply = el("button", { type: "button", className: "ttu-live-btn", text: "Apply JSON" });
    apply.addEventListener("click", function () { self.applyJson(); });
    this.jsonBox.appendChild(this.field("Scenario (simcore.scenario/1)", this.json, "scenario.json"));
    this.jsonBox.appendChild(apply);
    this.box.appendChild(this.jsonBox);

    var actions = el("div", { className: "ttu-live-actions" });
    this.runBtn = el("button", { type: "button", className: "ttu-live-btn ttu-live-run", text: "Run" });
    this.runBtn.addEventListener("click", function () { self.run(); });
    var link = el("button", { type: "button", className: "ttu-live-btn", text: "Copy link" });
    link.addEventListener("click", function () { self.copyLink(); });
    var copy = el("button", { type: "button", className: "ttu-live-btn", text: "Copy as JSON" });
    copy.addEventListener("click", function () { self.copyJson(); });
    actions.appendChild(this.runBtn);
    actions.appendChild(link);
    actions.appendChild(copy);
    this.statusEl = el("span", { className: "ttu-live-status", role: "status" });
    actions.appendChild(this.statusEl);
    this.box.appendChild(actions);
    this.errorEl = el("p", { className: "ttu-live-error", role: "alert", hidden: true });
    this.box.appendChild(this.errorEl);

    this.reportBox = el("details", { className: "ttu-live-report", hidden: true });
    this.reportBox.appendChild(el("summary", { text: "Result as JSON (what python -m simcore run --json prints)" }));
    this.report = el("pre", { className: "ttu-live-report-text", tabindex: "0" });
    this.reportBox.appendChild(this.report);
    this.box.appendChild(this.reportBox);

    this.root.parentNode.insertBefore(this.box, this.root.nextSibling);
  };

  // --- the form, drawn from this.sc --------------------------------------------------------
  Editor.prototype.render = function () {
    var self = this;
    var sc = this.sc;
    var cfg = this.cfg;
    this.modeSel.value = this.mode;
    this.bugSel.value = this.bugs[0] || "";
    this.form.textContent = "";

    // architecture
    sc.arch = sc.arch || { name: "x86_64" };
    var arch = el("fieldset", {}, [el("legend", { text: "Architecture" })]);
    arch.appendChild(this.field("arch", this.select(cfg.archs, sc.arch.name, function (v) {
      sc.arch.name = v;
      delete sc.arch.page_size;
      if (v !== "arm64") delete sc.arch.bbml2;
      self.render();
    }), "arch.name"));
    arch.appendChild(this.field("page size", this.select(
      [["", "default"]].concat(cfg.page_sizes.map(function (p) { return [p, p / 1024 + "K"]; })),
      sc.arch.page_size || "", function (v) {
        if (v) sc.arch.page_size = parseInt(v, 10); else delete sc.arch.page_size;
        self.sync();
      }), "arch.page_size"));
    if (sc.arch.name === "arm64") {
      arch.appendChild(this.check("BBML2", !!sc.arch.bbml2, "arch.bbml2", function (on) {
        if (on) sc.arch.bbml2 = true; else delete sc.arch.bbml2;
      }));
    }
    this.form.appendChild(arch);

    // folio
    var f = sc.folio = sc.folio || {};
    var folio = el("fieldset", {}, [el("legend", { text: "Folio" })]);
    var pattern = el("input", { type: "text", className: "ttu-live-pattern", spellcheck: "false",
      autocomplete: "off", value: f.exclusive || "" });
    pattern.addEventListener("change", function () {
      var v = pattern.value.trim().toUpperCase();
      pattern.value = v;
      if (v) f.exclusive = v; else delete f.exclusive;
      var n = v.length;
      if (n && (n & (n - 1)) === 0 && n <= (1 << cfg.max_order)) {
        f.order = Math.round(Math.log2(n));
        order.value = f.order;  // the order box shows the order the pattern set
      }
      self.sync();
    });
    folio.appendChild(this.field("pages (E/N)", pattern, "folio.exclusive",
      "one letter per page: E PageAnonExclusive, N not; the length sets the order"));
    var order = el("input", { type: "number", min: "0", max: String(cfg.max_order), value: f.order === undefined ? "" : f.order });
    order.addEventListener("change", function () {
      var v = intOrText(order.value);
      f.order = v;
      if (typeof v === "number" && v >= 0 && v <= cfg.max_order && f.exclusive) {
        var n = 1 << v;
        f.exclusive = (f.exclusive + Array(n + 1).join(f.exclusive.slice(-1) || "E")).slice(0, n);
        pattern.value = f.exclusive;
      }
      self.sync();
    });
    folio.appendChild(this.field("order", order, "folio.order"));
    folio.appendChild(this.check("swap-backed", f.swapbacked !== false, "folio.swapbacked",
      function (on) { f.swapbacked = on; }));
    folio.appendChild(this.check("dirty", !!f.dirty, "folio.dirty", function (on) { f.dirty = on; }));
    folio.appendChild(this.check("pinned", !!f.pinned, "folio.pinned", function (on) { f.pinned = on; }));
    var refs = el("input", { type: "number", min: "0", value: f.extra_refs || 0, className: "ttu-live-num" });
    refs.addEventListener("change", function () {
      var v = intOrText(refs.value);
      if (v === 0) delete f.extra_refs; else f.extra_refs = v;
      self.sync();
    });
    folio.appendChild(this.field("extra refs", refs, "folio.extra_refs"));
    this.form.appendChild(folio);

    // mms and their first VMA
    sc.mms = sc.mms || [];
    var mms = el("fieldset", {}, [el("legend", { text: "Address spaces (mm) and VMAs" })]);
    sc.mms.forEach(function (mm, i) {
      var row = el("div", { className: "ttu-live-item" });
      row.appendChild(self.text("mm " + i + " name", mm.name, "mms[" + i + "].name", function (v) { mm.name = v; }));
      (mm.vmas || []).forEach(function (vma, j) {
        var p = "mms[" + i + "].vmas[" + j + "]";
        row.appendChild(el("span", { className: "ttu-live-vma" }, [
          self.text("VMA " + j + " start", vma.start, p + ".start", function (v) { vma.start = intOrText(v); }, "ttu-live-addr"),
          self.text("end", vma.end, p + ".end", function (v) { vma.end = intOrText(v); }, "ttu-live-addr"),
          self.check("mlocked", !!vma.locked, p + ".locked", function (on) {
            if (on) vma.locked = true; else delete vma.locked;
          })]));
      });
      row.appendChild(self.remove("Remove mm " + i, function () { sc.mms.splice(i, 1); }));
      mms.appendChild(row);
    });
    mms.appendChild(this.add("Add an mm (a forked child)", function () {
      var last = sc.mms[sc.mms.length - 1];
      var name = "child" + (sc.mms.length > 1 ? sc.mms.length : "");
      sc.mms.push({ name: name, vmas: last ? clone(last.vmas) : [{ start: "0x7f0000000000", end: "0x7f0000010000" }] });
      (sc.ptes || []).filter(function (r) { return last && r.mm === last.name; }).forEach(function (r) {
        var c = clone(r);
        c.mm = name;
        sc.ptes.push(c);
      });
    }));
    this.form.appendChild(mms);

    // PTE runs
    sc.ptes = sc.ptes || [];
    var ptes = el("fieldset", {}, [el("legend", { text: "PTEs: runs of nr PTEs mapping pages page, page+1, \u2026" })]);
    sc.ptes.forEach(function (r, i) {
      var p = "ptes[" + i + "]";
      var row = el("div", { className: "ttu-live-item" });
      row.appendChild(self.text("run " + i + ": mm", r.mm, p + ".mm", function (v) { r.mm = v; }, "ttu-live-short"));
      row.appendChild(self.text("addr", r.addr, p + ".addr", function (v) { r.addr = intOrText(v); }, "ttu-live-addr"));
      row.appendChild(self.text("page", r.page === undefined ? 0 : r.page, p + ".page", function (v) { r.page = intOrText(v); }, "ttu-live-num"));
      row.appendChild(self.text("nr", r.nr === undefined ? 1 : r.nr, p + ".nr", function (v) { r.nr = intOrText(v); }, "ttu-live-num"));
      row.appendChild(self.field("kind", self.select(cfg.kinds, r.kind || "present", function (v) {
        if (v === "present") delete r.kind; else r.kind = v;
        ["write", "dirty", "young"].forEach(function (k) { if (v !== "present") delete r[k]; });
        self.render();
      }), p + ".kind"));
      FLAGS.forEach(function (fl) {
        var k = fl[0];
        if (k !== "soft_dirty" && k !== "uffd_wp" && (r.kind || "present") !== "present") return;
        var on = k === "write" ? r.write !== false : !!r[k];
        row.appendChild(self.check(fl[1], on, p + "." + k, function (v) {
          if (k === "write") r.write = v;
          else if (v) r[k] = true;
          else delete r[k];
        }));
      });
      row.appendChild(self.remove("Remove run " + i, function () { sc.ptes.splice(i, 1); }));
      ptes.appendChild(row);
    });
    ptes.appendChild(this.add("Add a run", function () {
      var last = sc.ptes[sc.ptes.length - 1];
      sc.ptes.push(last ? clone(last) : { mm: (sc.mms[0] || {}).name || "task", addr: "0x7f0000000000", page: 0, nr: 1 });
    }));
    this.form.appendChild(ptes);

    // faults
    sc.faults = sc.faults || [];
    var faults = el("fieldset", {}, [el("legend", { text: "Faults (each fires the first time the unmap reaches its page)" })]);
    sc.faults.forEach(function (ft, i) {
      var p = "faults[" + i + "]";
      var row = el("div", { className: "ttu-live-item" });
      row.appendChild(self.field("fault " + i + ": op", self.select(cfg.fault_ops, ft.op, function (v) {
        ft.op = v;
        delete ft.error;
        self.sync();
      }), p + ".op"));
      row.appendChild(self.text("page", ft.page, p + ".page", function (v) { ft.page = intOrText(v); }, "ttu-live-num"));
      row.appendChild(self.remove("Remove fault " + i, function () { sc.faults.splice(i, 1); }));
      faults.appendChild(row);
    });
    faults.appendChild(this.add("Add a fault", function () {
      sc.faults.push({ op: cfg.fault_ops[0], page: 0 });
    }));
    this.form.appendChild(faults);
    this.sync();
  };

  Editor.prototype.text = function (label, value, field, set, cls) {
    var self = this;
    var input = el("input", { type: "text", spellcheck: "false", autocomplete: "off",
      className: cls || null, value: value === undefined || value === null ? "" : String(value) });
    input.addEventListener("change", function () { set(input.value.trim()); self.sync(); });
    return this.field(label, input, field);
  };

  Editor.prototype.check = function (label, on, field, set) {
    var self = this;
    var input = el("input", { type: "checkbox" });
    input.checked = on;
    input.addEventListener("change", function () { set(input.checked); self.sync(); });
    input.id = this.fid(field);
    input.setAttribute("data-field", field);
    return el("span", { className: "ttu-live-field ttu-live-check" }, [input,
      el("label", { "for": input.id, text: label }),
      el("span", { className: "ttu-live-err", id: input.id + "-err", hidden: true })]);
  };

  Editor.prototype.add = function (label, action) {
    var self = this;
    var b = el("button", { type: "button", className: "ttu-live-btn ttu-live-add", text: label });
    b.addEventListener("click", function () { action(); self.render(); });
    return b;
  };

  Editor.prototype.remove = function (label, action) {
    var self = this;
    var b = el("button", { type: "button", className: "ttu-live-btn ttu-live-remove",
      "aria-label": label, title: label, text: "Remove" });
    b.addEventListener("click", function () { action(); self.render(); });
    return b;
  };

  // the JSON text follows every edit
  Editor.prototype.sync = function () {
    this.json.value = this.scenarioText();
    this.clearErrors();
  };

  Editor.prototype.scenarioText = function () {
    return JSON.stringify(this.sc, null, 2) + "\n";
  };

  Editor.prototype.applyJson = function () {
    try {
      var obj = JSON.parse(this.json.value);
      if (!obj || typeof obj !== "object" || Array.isArray(obj)) throw new Error("expected an object");
      this.sc = obj;
      this.render();
      return true;
    } catch (err) {
      this.clearErrors();
      this.showError("scenario.json", "simcore: scenario.json: not valid JSON (" + err.message + ")");
      return false;
    }
  };

  // --- errors next to the field they name ---------------------------------------------------
  Editor.prototype.clearErrors = function () {
    this.fieldErrors.forEach(function (input) {
      input.removeAttribute("aria-invalid");
      input.removeAttribute("aria-describedby");
      var err = document.getElementById(input.id + "-err");
      if (err) { err.textContent = ""; err.hidden = true; }
    });
    this.fieldErrors = [];
    this.errorEl.hidden = true;
    this.errorEl.textContent = "";
  };

  // the input a field names, or the first input inside it (ptes[2] -> ptes[2].mm), or the
  // nearest enclosing one (mms[0].vmas[1].end -> mms[0].name)
  Editor.prototype.inputFor = function (field) {
    var f = field;
    while (f) {
      var q = f.replace(/"/g, '\\"');
      var input = this.box.querySelector('[data-field="' + q + '"]') ||
        this.box.querySelector('[data-field^="' + q + '."], [data-field^="' + q + '["]');
      if (input) return input;
      var cut = Math.max(f.lastIndexOf("."), f.lastIndexOf("["));
      f = cut > 0 ? f.slice(0, cut) : "";
    }
    return null;
  };

  Editor.prototype.showError = function (field, line) {
    var input = this.inputFor(field);
    if (input) {
      if (input === this.json) this.jsonBox.open = true;
      var err = document.getElementById(input.id + "-err");
      err.textContent = line;
      err.hidden = false;
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", err.id);
      this.fieldErrors.push(input);
      input.focus();
    } else {
      this.errorEl.textContent = line;
      this.errorEl.hidden = false;
    }
  };

  // --- run, share, copy ---------------------------------------------------------------------
  Editor.prototype.setState = function (state) {
    this.box.setAttribute("data-live-state", state);
  };

  Editor.prototype.status = function (text) {
    this.statusEl.textContent = text;
  };

  Editor.prototype.run = function () {
    var self = this;
    if (this.busy) return;
    if (this.jsonBox.open && this.json.value !== this.scenarioText() && !this.applyJson()) return;
    this.clearErrors();
    this.busy = true;
    this.runBtn.disabled = true;
    var t0 = performance.now();
    var cold = !booted;
    this.setState(cold ? "booting" : "running");
    this.status(cold ? "Starting Python in this page (first run: 5\u201315 s)\u2026" : "Running\u2026");
    this.updateUrl();
    askWorker("run", { scenario: this.scenarioText(), mode: this.mode, bugs: this.bugs }, function (msg) {
      self.busy = false;
      self.runBtn.disabled = false;
      var total;
      if (msg.type !== "result") {
        self.setState("error");
        self.status("");
        self.showError("", msg.noRuntime ? "Live mode is not available here: " + msg.text +
          " (build it with npm and a network: make book). The recorded presets above still work."
          : msg.text);
        return;
      }
      var r = msg.result;
      if (r.error) {
        self.setState("error");
        self.status("");
        self.showError(r.field, r.error);
        return;
      }
      self.report.textContent = r.report;
      self.reportBox.hidden = false;
      var rep = JSON.parse(r.report);
      var verdict = "try_to_unmap " + (rep.ok ? "succeeded" : "failed") + "; checker: " +
        (rep.violations.length ? rep.violations.length + " violation(s)" : "all invariants hold");
      var timing = (cold ? "Python started and ran it in " +
        ((performance.now() - t0) / 1000).toFixed(1) + " s" :
        "ran in " + Math.round(msg.ms) + " ms");
      if (r.preset) {
        self.player.showPreset(r.preset);
        var thin = r.preset.thinned ? " The trace has " + r.preset.thinned +
          " steps; the player shows the state before and after." : "";
        self.status(verdict + " (" + timing + ")." + thin);
        self.root.scrollIntoView({ block: "nearest" });
      } else {
        self.status(verdict + " (" + timing + "). " + (r.capped || ""));
      }
      // Run pressed -> result drawn (boot included on the first run)
      total = performance.now() - t0;
      self.box.setAttribute("data-live-ms", String(Math.round(msg.ms)));
      self.box.setAttribute("data-live-total-ms", String(Math.round(total)));
      window.ttuLive.last = { cold: cold, totalMs: total, runMs: msg.ms };
      self.setState("done");
    }, function (text) { self.status(text); });
  };

  Editor.prototype.shareHash = function () {
    return "#" + encodeShare(this.id, this.sc, this.mode, this.bugs);
  };

  Editor.prototype.updateUrl = function () {
    if (window.history && window.history.replaceState) {
      window.history.replaceState(null, "", this.shareHash());
    }
  };

  Editor.prototype.fromShare = function (shared) {
    this.box.open = true;
    if (shared.broken || !shared.scenario || typeof shared.scenario !== "object") {
      this.showError("", "This link's scenario cannot be read (was it cut short?).");
      return;
    }
    this.sc = shared.scenario;
    this.mode = this.cfg.modes.indexOf(shared.mode) >= 0 ? shared.mode : "patched";
    this.bugs = (shared.bugs || []).filter(function (b) { return typeof b === "string"; });
    this.render();
    this.status("This link holds a scenario: press Run to run it.");
    var self = this;
    setTimeout(function () { self.box.scrollIntoView({ block: "start" }); }, 0);
  };

  Editor.prototype.copy = function (text, done) {
    var self = this;
    function fallback() {
      self.jsonBox.open = true;
      self.json.value = text;
      self.json.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (err) { ok = false; }
      done(ok);
    }
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(function () { done(true); }, fallback);
    } else {
      fallback();
    }
  };

  Editor.prototype.copyLink = function () {
    var self = this;
    this.updateUrl();
    this.copy(window.location.href, function (ok) {
      self.status(ok ? "Link copied: it opens this page with your scenario." :
        "Copy the page's address from the address bar: it holds your scenario.");
    });
  };

  Editor.prototype.copyJson = function () {
    var self = this;
    var text = this.json.value = this.scenarioText();
    this.copy(text, function (ok) {
      self.status(ok ? "Copied. Save it as scenario.json and run python -m simcore run " +
        "scenario.json --mode " + self.mode + " --json" :
        "Select the JSON below and copy it.");
    });
  };

  // --- exercises with fresh seeds ----------------------------------------------------------
  // Every exercise box (bookkit.exercise) gets "New variant": a fresh seed, generated by the
  // exercise's own Python generator in the worker; its Check then asks the Python checker
  // (the box's built-in instance keeps the page's offline check, which needs no Python).
  var MAX_SEED = 1000000;

  function exText(box, sel, text) {
    var node = box.querySelector(sel);
    if (node) node.textContent = text;
    return node;
  }

  function setupExercise(box) {
    if (box.ttuLive || !box.getAttribute("data-seed")) return;
    box.ttuLive = true;
    var book = {
      question: (box.querySelector(".ttu-ex-question") || {}).textContent,
      strip: (box.querySelector(".ttu-ex-strip") || {}).textContent,
      command: (box.querySelector(".ttu-ex-command") || {}).textContent,
      label: (box.querySelector("label") || {}).textContent
    };
    var row = el("p", { className: "ttu-ex-live" });
    var fresh = el("button", { type: "button", className: "ttu-live-btn ttu-ex-new", text: "New variant" });
    var back = el("button", { type: "button", className: "ttu-live-btn ttu-ex-book", text: "The book's instance", hidden: true });
    var status = el("span", { className: "ttu-live-status", role: "status" });
    row.appendChild(fresh);
    row.appendChild(document.createTextNode(" "));
    row.appendChild(back);
    row.appendChild(document.createTextNode(" "));
    row.appendChild(status);
    var feedback = box.querySelector(".ttu-ex-feedback");
    box.insertBefore(row, feedback ? feedback.nextSibling : null);

    function clearAnswer() {
      var input = box.querySelector("input");
      if (input) input.value = "";
      if (feedback) { feedback.textContent = ""; feedback.className = "ttu-ex-feedback"; }
      box.removeAttribute("data-result");
    }

    fresh.addEventListener("click", function () {
      var seed = 1 + Math.floor(Math.random() * MAX_SEED);
      fresh.disabled = true;
      box.setAttribute("data-live-state", booted ? "running" : "booting");
      status.textContent = booted ? "Generating…" : "Starting Python in this page (first time: 5–15 s)…";
      askWorker("exercise", { topic: box.getAttribute("data-topic"), seed: seed,
        difficulty: parseInt(box.getAttribute("data-difficulty"), 10) }, function (msg) {
        fresh.disabled = false;
        var r = msg.type === "result" ? msg.result : { error: msg.text };
        if (r.error) {
          box.setAttribute("data-live-state", "error");
          status.textContent = r.error;
          return;
        }
        exText(box, ".ttu-ex-question", r.question);
        var strip = exText(box, ".ttu-ex-strip", r.strip);
        if (strip) strip.hidden = !r.strip;
        exText(box, ".ttu-ex-command", r.command);
        exText(box, "label", "Your answer (" + r.answer_format + ")");
        box.setAttribute("data-live-seed", String(r.seed));
        clearAnswer();
        back.hidden = false;
        status.textContent = "Variant with seed " + r.seed + ", checked by the exercise's Python checker.";
        box.setAttribute("data-live-state", "done");
      }, function (text) { status.textContent = text; });
    });

    back.addEventListener("click", function () {
      exText(box, ".ttu-ex-question", book.question);
      var strip = exText(box, ".ttu-ex-strip", book.strip);
      if (strip) strip.hidden = false;
      exText(box, ".ttu-ex-command", book.command);
      exText(box, "label", book.label);
      box.removeAttribute("data-live-seed");
      clearAnswer();
      back.hidden = true;
      status.textContent = "";
    });
  }

  function checkLive(box) {
    var input = box.querySelector("input");
    var out = box.querySelector(".ttu-ex-feedback");
    out.textContent = "Checking…";
    out.className = "ttu-ex-feedback";
    askWorker("check", { topic: box.getAttribute("data-topic"),
      seed: parseInt(box.getAttribute("data-live-seed"), 10),
      difficulty: parseInt(box.getAttribute("data-difficulty"), 10), answer: input.value },
    function (msg) {
      var r = msg.type === "result" ? msg.result : { error: msg.text };
      out.textContent = r.error || r.message;
      out.className = "ttu-ex-feedback " + (r.correct ? "ok" : "wrong");
      box.setAttribute("data-result", r.correct ? "correct" : "wrong");
    });
  }

  // before the page's offline check (bookkit.exercise wires it on document, bubbling)
  document.addEventListener("click", function (ev) {
    var b = ev.target.closest && ev.target.closest(".ttu-exercise[data-live-seed] button.ttu-ex-check");
    if (!b) return;
    ev.stopImmediatePropagation();
    checkLive(b.closest(".ttu-exercise"));
  }, true);
  document.addEventListener("keydown", function (ev) {
    if (ev.key !== "Enter" || !ev.target.matches || !ev.target.matches(".ttu-exercise[data-live-seed] input")) return;
    ev.preventDefault();
    ev.stopImmediatePropagation();
    checkLive(ev.target.closest(".ttu-exercise"));
  }, true);

  function initAll() {
    Array.prototype.forEach.call(document.querySelectorAll(".ttu-exercise"), setupExercise);
    if (window.ttuPlayer) window.ttuPlayer.init(document);
    var roots = document.querySelectorAll('.ttu-player[data-live="true"]');
    Array.prototype.forEach.call(roots, function (root) {
      if (!root.ttuPlayer || root.ttuLiveEditor) return;
      try {
        root.ttuLiveEditor = new Editor(root);
        editors.push(root.ttuLiveEditor);
      } catch (err) {
        if (window.console) console.warn("ttu-live: cannot start the editor", root.id, err);
      }
    });
  }

  window.ttuLive = { editors: editors, decodeShare: decodeShare, encodeShare: encodeShare };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", initAll);
  } else {
    initAll();
  }
})();
