// The matgrad page: reads the form, calls the JSON API, shows the answers.
// No mathematics here: the server derives, checks and renders (MathML); this script
// only moves data between the form, the API and the panels.
"use strict";

const $ = (id) => document.getElementById(id);
const FIELDS = ["expr", "shapes", "sizes", "wrt", "claim"];
const state = {
  query: null,          // the input of the result on show
  derived: null,        // the /api/derive answer on show
  features: null,       // /api/features
  backend: "numpy",
  shapesEdited: false,  // true once the shapes box holds declarations to keep
  seq: 0,               // guards against answers arriving out of order
  stepsFor: null,       // the query whose steps are on show
};

async function api(path, body) {
  const init = body === undefined ? {} : {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  };
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    return { ok: false, status: 0, data: { error: { kind: "NetworkError",
      message: "the matgrad server cannot be reached; is `matgrad serve` still running?" } } };
  }
  let data;
  try {
    data = await res.json();
  } catch (e) {
    data = { error: { kind: "RequestError", message: `the server answered ${res.status}` } };
  }
  return { ok: res.ok, status: res.status, data };
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v);
  }
  node.append(...children);
  return node;
}

// The server sanitises its MathML and HTML (a whitelist of elements); everything else
// on the page is set as text.
function trustedHTML(node, html) {
  node.innerHTML = html;
  return node;
}

// ---- errors --------------------------------------------------------------------------

function clearErrors() {
  for (const f of FIELDS) {
    const box = $(`${f}-error`);
    box.hidden = true;
    box.replaceChildren();
    $(f).removeAttribute("aria-invalid");
  }
}

const KIND_LABEL = {
  ParseError: "Syntax", ShapeError: "Shapes", DomainError: "Not defined",
  LimitError: "Too large", RequestError: "Request", Busy: "Busy",
  InternalError: "Internal error", NetworkError: "Connection",
};

function showError(err, fallback) {
  const field = { expr: "expr", shapes: "shapes", sizes: "sizes", wrt: "wrt",
                  claim: "claim", variable: "claim" }[err.field] || fallback;
  const box = $(`${field}-error`);
  const label = KIND_LABEL[err.kind] || err.kind;
  box.replaceChildren(el("p", { class: "message" },
    el("strong", { text: `${label}: ` }), err.message));
  if (err.line != null && err.line_column != null) {
    // The offending line, with the columns at fault marked and a caret beneath.
    const line = err.line;
    const col = err.line_column;
    const width = Math.max(1, Math.min(err.width || 1, line.length - col));
    box.append(el("pre", { class: "caret" },
      line.slice(0, col), el("mark", { text: line.slice(col, col + width) || " " }),
      line.slice(col + width), "\n" + " ".repeat(col) + "^".repeat(width)));
    const input = $(field);
    if (input.setSelectionRange && err.column != null) {
      input.setSelectionRange(err.column, err.column + width);
    }
  }
  box.hidden = false;
  $(field).setAttribute("aria-invalid", "true");
}

// ---- the form and the URL ------------------------------------------------------------

function readForm() {
  return { expr: $("expr").value, shapes: $("shapes").value, wrt: $("wrt").value,
           sizes: $("sizes").value };
}

// The fields of the endpoints that only derive (code); steps are checked, so they take
// the sizes too.
function deriving(q) {
  return { expr: q.expr, shapes: q.shapes, wrt: q.wrt };
}

function shareURL(q) {
  const params = new URLSearchParams();
  params.set("expr", q.expr);
  if (q.shapes.trim()) params.set("shapes", q.shapes);
  if (q.wrt.trim()) params.set("wrt", q.wrt);
  if (q.sizes && q.sizes.trim()) params.set("sizes", q.sizes);
  return `${location.pathname}?${params}`;
}

function setStatus(text) {
  $("status").textContent = text;
}

// ---- derive --------------------------------------------------------------------------

async function derive() {
  clearErrors();
  const q = readForm();
  const seq = ++state.seq;
  setStatus("Deriving…");
  $("derive").disabled = true;
  const r = await api("/api/derive", q);
  if (seq !== state.seq) return;
  $("derive").disabled = false;
  setStatus("");
  if (!r.ok) {
    showError(r.data.error, "expr");
    // A result for other input would mislead: hide it until the input derives again.
    for (const id of ["result-panel", "steps-panel", "code-panel", "check-panel"]) {
      $(id).hidden = true;
    }
    state.query = state.derived = null;
    $("share").hidden = true;
    return;
  }
  const d = r.data;
  state.derived = d;
  state.query = { expr: q.expr, shapes: d.shapes, wrt: q.wrt, sizes: q.sizes };
  $("shapes").value = d.shapes;
  showInferred(d);
  const url = shareURL(state.query);
  history.replaceState(null, "", url);
  $("share").href = url;
  $("share").hidden = false;
  renderResult(d);
  renderCheckForm(d);
  for (const id of ["result-panel", "steps-panel", "code-panel", "check-panel"]) {
    $(id).hidden = false;
  }
  state.stepsFor = null;
  $("steps").replaceChildren();
  if ($("steps-panel").open) loadSteps();
  loadCode();
}

function math(html, text) {
  const cell = el("span", { class: "math", title: text });
  if (html) trustedHTML(cell, html);
  else cell.textContent = text;
  return cell;
}

function renderResult(d) {
  const body = $("result").tBodies[0];
  body.replaceChildren();
  let group = null;
  for (const row of d.rows) {
    const heading = { intermediate: "where", gradient: "gradients" }[row.kind];
    if (heading && heading !== group) {
      body.append(el("tr", { class: "group" }, el("td", { colspan: "4", text: heading })));
      group = heading;
    }
    body.append(el("tr", { class: `row row-${row.kind}`, "data-name": row.name },
      el("th", { scope: "row" }, math(row.left_mathml, row.left_text)),
      el("td", { class: "eq", text: "=" }),
      el("td", { class: "rhs" }, math(row.right_mathml, row.right_text)),
      el("td", { class: "shape", text: row.shape })));
  }
  const v = d.verification;
  const p = $("verification");
  p.textContent = v.text;
  p.className = v.ok === true ? "ok" : v.ok === false ? "fail" : "unknown";
}

// ---- steps ---------------------------------------------------------------------------

function unavailable(feature) {
  const f = state.features && state.features[feature];
  return f && !f.available ? f.message : null;
}

async function loadSteps() {
  if (!state.query || state.stepsFor === state.query) return;
  const target = $("steps");
  const q = state.query;
  state.stepsFor = q;
  const missing = unavailable("steps");
  if (missing) {
    target.replaceChildren(el("p", { class: "unavailable", text: missing }));
    return;
  }
  target.replaceChildren(el("p", { class: "pending", text: "Deriving the steps…" }));
  const r = await api("/api/steps", { ...deriving(q), sizes: q.sizes });
  if (state.query !== q) return;
  if (!r.ok) {
    target.replaceChildren(el("p", { class: r.status === 501 ? "unavailable" : "error",
      text: r.data.error.message }));
    return;
  }
  target.replaceChildren(...r.data.derivations.map((d) => {
    const section = el("section", { class: "derivation", "data-variable": d.variable });
    section.append(trustedHTML(el("div", { class: "markdown" }), d.html));
    // every line is checked numerically; a line that fails is a bug, and says so
    if (d.failing && d.failing.length) {
      section.prepend(el("p", { class: "error steps-failing", text:
        `${d.failing.length} of ${d.count} lines do not hold numerically (marked ✗ below): ` +
        "this is a bug in matgrad; please report it." }));
    }
    return section;
  }));
}

// ---- code ----------------------------------------------------------------------------

async function loadCode() {
  if (!state.query) return;
  const q = state.query;
  const backend = state.backend;
  const code = $("code");
  const message = $("code-message");
  const missing = unavailable("code");
  const fail = (text) => {
    code.textContent = "";
    message.textContent = text;
    message.hidden = false;
    $("copy").disabled = true;
    code.closest(".code-box").hidden = true;
  };
  if (missing) return fail(missing);
  code.textContent = "";
  $("copy-status").textContent = "";
  const r = await api("/api/code", { ...deriving(q), backend });
  if (state.query !== q || state.backend !== backend) return;
  if (!r.ok) return fail(r.data.error.message);
  message.hidden = true;
  code.closest(".code-box").hidden = false;
  code.textContent = r.data.source;
  code.dataset.backend = backend;
  $("copy").disabled = false;
}

function selectBackend(button) {
  for (const b of document.querySelectorAll(".tabs [role=tab]")) {
    b.setAttribute("aria-selected", String(b === button));
  }
  state.backend = button.dataset.backend;
  loadCode();
}

async function copyCode() {
  const text = $("code").textContent;
  const done = (msg) => { $("copy-status").textContent = msg; };
  try {
    await navigator.clipboard.writeText(text);
    done("Copied to the clipboard.");
  } catch (e) {
    // Without clipboard permission: select the code so Ctrl+C copies it.
    const range = document.createRange();
    range.selectNodeContents($("code"));
    const sel = getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
    done(document.execCommand && document.execCommand("copy")
      ? "Copied to the clipboard." : "Selected; press Ctrl+C to copy.");
  }
}

// ---- check my answer -----------------------------------------------------------------

function renderCheckForm(d) {
  const select = $("check-var");
  const previous = select.value;
  select.replaceChildren(...d.wrt.map((n) => el("option", { value: n, text: n })));
  if (d.wrt.includes(previous)) select.value = previous;
  const loss = d.rows.find((r) => r.kind === "loss");
  $("check-form").querySelector("label").textContent = `∂${loss ? loss.left_text : "L"}/∂`;
  $("verdict").replaceChildren();
  const missing = unavailable("check");
  if (missing) {
    $("verdict").replaceChildren(el("span", { class: "unavailable", text: missing }));
  }
}

async function checkClaim() {
  if (!state.query) return;
  clearErrors();
  const missing = unavailable("check");
  if (missing) {
    $("verdict").replaceChildren(el("span", { class: "unavailable", text: missing }));
    return;
  }
  const q = state.query;
  const r = await api("/api/check", { expr: q.expr, shapes: q.shapes, sizes: q.sizes,
    variable: $("check-var").value, claim: $("claim").value });
  const out = $("verdict");
  if (!r.ok) {
    out.replaceChildren();
    if (r.status === 501) {
      out.append(el("span", { class: "unavailable", text: r.data.error.message }));
    } else {
      showError(r.data.error, "claim");
    }
    return;
  }
  const v = r.data.verdict;
  out.replaceChildren(
    el("strong", { class: `verdict verdict-${v}`, "data-verdict": v,
      text: v.replace("-", " ") }),
    el("span", { class: "explanation", text: r.data.message }));
}

// ---- shapes pre-filled from the expression -------------------------------------------

let inferTimer = null;
function showInferred(data) {
  $("inferred").textContent = data && data.inferred.length
    ? `Inferred: ${data.inferred_shapes}.` : "";
}

function scheduleInference() {
  clearTimeout(inferTimer);
  inferTimer = setTimeout(async () => {
    const expr = $("expr").value;
    const shapes = $("shapes").value;
    if (!expr.trim()) return;
    const r = await api("/api/parse", { expr, shapes: state.shapesEdited ? shapes : "" });
    // Errors show when the user derives; while typing they would only distract.
    if ($("expr").value !== expr || $("shapes").value !== shapes) return;
    if (!r.ok) {
      showInferred(null);
    } else if (!state.shapesEdited) {
      $("shapes").value = r.data.shapes;  // everything inferred: fill the box
      showInferred(r.data);
    } else {
      showInferred(r.data);  // the user's declarations stay; say what the rest is
    }
  }, 300);
}

// ---- wiring --------------------------------------------------------------------------

async function loadExample() {
  const r = await api("/api/example");
  if (!r.ok) return;
  $("expr").value = r.data.expr;
  $("shapes").value = r.data.shapes;
  $("wrt").value = r.data.wrt;
  $("sizes").value = "";
  state.shapesEdited = true;
  derive();
}

async function start() {
  $("input-form").addEventListener("submit", (e) => { e.preventDefault(); derive(); });
  $("expr").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); derive(); }
  });
  $("expr").addEventListener("input", scheduleInference);
  $("shapes").addEventListener("input", () => {
    state.shapesEdited = $("shapes").value.trim() !== "";
    scheduleInference();
  });
  $("example").addEventListener("click", loadExample);
  $("steps-panel").addEventListener("toggle", () => {
    if ($("steps-panel").open) loadSteps();
  });
  for (const b of document.querySelectorAll(".tabs [role=tab]")) {
    b.addEventListener("click", () => selectBackend(b));
  }
  $("copy").addEventListener("click", copyCode);
  $("check-form").addEventListener("submit", (e) => { e.preventDefault(); checkClaim(); });

  const features = await api("/api/features");
  if (features.ok) state.features = features.data;

  // A shared link: fill the form from the URL and show the result at once.
  const params = new URLSearchParams(location.search);
  if (params.has("expr")) {
    $("expr").value = params.get("expr");
    $("shapes").value = params.get("shapes") || "";
    $("wrt").value = params.get("wrt") || "";
    $("sizes").value = params.get("sizes") || "";
    state.shapesEdited = $("shapes").value.trim() !== "";
    await derive();
  }
  document.body.dataset.ready = "true";
}

start();
