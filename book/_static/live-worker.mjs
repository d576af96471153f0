/* The Web Worker of the live scenario editors (book/_static/live.js).
 *
 * Started on a reader's first "Run", never on page load. It boots Pyodide from the site
 * itself (_static/live/pyodide/, copied there by bookkit.liveruntime at build time), unpacks
 * the pure-Python wheels and simcore.zip listed in _static/live/manifest.json, and then answers
 * each message {id, cmd, args} with bookkit.liverun.call_json(cmd, args): "run" (the command
 * line's report and the player's preset), "exercise" (a fresh variant of an exercise) or
 * "check" (its Python checker's verdict). Nothing is fetched from anywhere but this site.
 *
 * Messages to the page: {type: "status", text}, {type: "ready", ms},
 * {id, type: "result", result, ms} and {id, type: "failure", text, noRuntime}.
 */
const LIVE = new URL("./live/", import.meta.url);
const SITE_PACKAGES = "/home/pyodide/live";
let booting = null;

function status(text) {
  self.postMessage({ type: "status", text: text });
}

async function fetchOk(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(url.pathname + ": HTTP " + r.status);
  return r;
}

async function boot() {
  const t0 = performance.now();
  let manifest;
  try {
    manifest = await (await fetchOk(new URL("manifest.json", LIVE))).json();
  } catch (err) {
    const e = new Error("this copy of the site was built without the live runtime");
    e.noRuntime = true;
    throw e;
  }
  status("Loading Python " + "(Pyodide " + manifest.pyodide + ")…");
  const mod = await import(new URL("pyodide/pyodide.mjs", LIVE).href);
  const pyodide = await mod.loadPyodide({ indexURL: new URL("pyodide/", LIVE).href });
  status("Loading simcore…");
  for (const name of manifest.wheels.concat([manifest.bundle])) {
    const data = await (await fetchOk(new URL(name, LIVE))).arrayBuffer();
    pyodide.unpackArchive(data, "zip", { extractDir: SITE_PACKAGES });
  }
  pyodide.runPython(
    "import sys\n" +
    "sys.path.insert(0, " + JSON.stringify(SITE_PACKAGES) + ")\n" +
    "from bookkit.liverun import call_json\n");
  self.postMessage({ type: "ready", ms: performance.now() - t0 });
  return pyodide.globals.get("call_json");
}

self.onmessage = async function (ev) {
  const msg = ev.data;
  try {
    if (booting === null) booting = boot();
    const callJson = await booting;
    const t0 = performance.now();
    const text = callJson(msg.cmd, JSON.stringify(msg.args));
    self.postMessage({ id: msg.id, type: "result", result: JSON.parse(text),
      ms: performance.now() - t0 });
  } catch (err) {
    self.postMessage({ id: msg.id, type: "failure", noRuntime: !!(err && err.noRuntime),
      text: String((err && err.message) || err).trim().split("\n").pop() });
  }
};
