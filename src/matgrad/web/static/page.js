// The matgrad page: reads the form, calls the JSON API, shows the answers.
// No mathematics here: the server derives, checks and renders (MathML); this script
// only moves data between the form, the API and the panels.
"use strict";

const $ = (id) => document.getElementById(id);
const FIELDS = ["expr", "shapes", "sizes", "wrt", "order", "layout", "claim"];
const ENDPOINT = { gradient: "/api/derive", jacobian: "/api/jacobian", hessian: "/api/hessian" };
const KIND_HELP = {
  gradient: "∂L/∂X of a scalar L: a matrix with the shape of X, with the steps and a check " +
    "of your own answer.",
  jacobian: "∂F/∂X of a vector or matrix F: a matrix where it has two axes, else a tensor " +
    "in index notation with its Kronecker (vec) form.",
  hessian: "∂²L/∂X² of a scalar L: a symmetric matrix for a vector, a fourth-order tensor " +
    "for a matrix.",
};
const KIND_NAME = { gradient: "gradient", jacobian: "Jacobian", hessian: "Hessian" };
const THEME_KEY = "matgrad-theme";
const PANELS = ["result-panel", "steps-panel", "code-panel", "check-panel"];

const state = {
  query: null,          // the input of the result on show
  derived: null,        // the API's answer on show
  features: null,       // /api/features
  backend: "numpy",
  code: null,           // {query, backend, source} of the code on show
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

// ---- the colour scheme ---------------------------------------------------------------

const darkQuery = matchMedia("(prefers-color-scheme: dark)");

function theme() {
  return document.documentElement.dataset.theme || (darkQuery.matches ? "dark" : "light");
}

function showTheme() {
  const dark = theme() === "dark";
  const button = $("theme-toggle");
  button.setAttribute("aria-pressed", String(dark));
  button.title = dark ? "Light mode" : "Dark mode";
}

function toggleTheme() {
  const next = theme() === "dark" ? "light" : "dark";
  document.documentElement.dataset.theme = next;
  try {
    localStorage.setItem(THEME_KEY, next);
  } catch (e) {
    // storage is off: the choice lasts until the page is left
  }
  showTheme();
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
  const field = { expr: "expr", shapes: "shapes", sizes: "sizes", wrt: "wrt", order: "order",
                  layout: "layout", claim: "claim", variable: "claim" }[err.field] || fallback;
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
  if (err.suggest && ENDPOINT[err.suggest] && err.suggest !== kind()) {
    // A vector where a scalar was needed: offer the derivative that applies.
    const button = el("button", { type: "button", id: "switch-kind", class: "secondary small",
      "data-kind": err.suggest, text: `Show the ${KIND_NAME[err.suggest]} instead` });
    button.addEventListener("click", () => { setKind(err.suggest); derive(); });
    box.append(el("p", { class: "offer" }, button));
  }
  box.hidden = false;
  $(field).setAttribute("aria-invalid", "true");
}

// ---- the kind of derivative ----------------------------------------------------------

function kind() {
  const checked = document.querySelector("input[name=kind]:checked");
  return checked ? checked.value : "gradient";
}

function setKind(value) {
  const radio = $(`kind-${value}`) || $("kind-gradient");
  radio.checked = true;
  showKind();
}

function showKind() {
  const k = kind();
  $("kind-help").textContent = KIND_HELP[k];
  $("tensor-options").hidden = k === "gradient";
  $("layout-field").hidden = k !== "jacobian";
  $("order").placeholder = k === "hessian" ? "2" : "1";
}

// ---- the form and the URL ------------------------------------------------------------

function readForm() {
  const k = kind();
  return { kind: k, expr: $("expr").value, shapes: $("shapes").value, wrt: $("wrt").value,
           sizes: $("sizes").value, order: k === "gradient" ? "" : $("order").value.trim(),
           layout: k === "jacobian" ? $("layout").value : "numerator" };
}

// The body of a derivation request for the kind asked for.
function deriveBody(q) {
  const body = { expr: q.expr, shapes: q.shapes, wrt: q.wrt, sizes: q.sizes };
  if (q.kind !== "gradient") body.order = q.order;
  if (q.kind === "jacobian") body.layout = q.layout;
  return body;
}

// The body of a code request: no sizes (code does not check), but the kind.
function codeBody(q, backend) {
  const body = { expr: q.expr, shapes: q.shapes, wrt: q.wrt, backend };
  if (q.kind !== "gradient") {
    body.kind = q.kind;
    body.order = q.order;
  }
  if (q.kind === "jacobian") body.layout = q.layout;
  return body;
}

function shareURL(q) {
  const params = new URLSearchParams();
  if (q.kind !== "gradient") params.set("kind", q.kind);
  params.set("expr", q.expr);
  if (q.shapes.trim()) params.set("shapes", q.shapes);
  if (q.wrt.trim()) params.set("wrt", q.wrt);
  if (q.sizes && q.sizes.trim()) params.set("sizes", q.sizes);
  if (q.order) params.set("order", q.order);
  if (q.layout && q.layout !== "numerator") params.set("layout", q.layout);
  return `${location.pathname}?${params}`;
}

function setStatus(text, busy = false) {
  const status = $("status");
  status.replaceChildren();
  if (busy) status.append(el("span", { class: "spinner", "aria-hidden": "true" }));
  if (text) status.append(text);
}

// While a new result derives, the one on show is marked stale (and the page busy).
function loading(on) {
  $("output").setAttribute("aria-busy", String(on));
  $("derive").disabled = on;
  setStatus(on ? "Deriving…" : "", on);
}

// ---- derive --------------------------------------------------------------------------

async function derive() {
  clearErrors();
  const q = readForm();
  const seq = ++state.seq;
  loading(true);
  const r = await api(ENDPOINT[q.kind], deriveBody(q));
  if (seq !== state.seq) return;
  loading(false);
  if (!r.ok) {
    showError(r.data.error, "expr");
    // A result for other input would mislead: hide it until the input derives again.
    for (const id of PANELS) $(id).hidden = true;
    state.query = state.derived = state.code = null;
    $("share").hidden = true;
    return;
  }
  const d = r.data;
  state.derived = d;
  state.query = { ...q, shapes: d.shapes };
  $("shapes").value = d.shapes;
  showInferred(d);
  const url = shareURL(state.query);
  history.replaceState(null, "", url);
  $("share").href = url;
  $("share").hidden = false;
  $("copy-result-status").textContent = "";
  if (q.kind === "gradient") {
    renderResult(d);
    renderCheckForm(d);
  } else {
    renderDerivatives(d);
  }
  $("result-panel").hidden = $("code-panel").hidden = false;
  $("steps-panel").hidden = $("check-panel").hidden = q.kind !== "gradient";
  state.stepsFor = null;
  state.code = null;
  $("steps").replaceChildren();
  if (q.kind === "gradient" && $("steps-panel").open) loadSteps();
  loadCode();
}

function math(html, text) {
  const cell = el("span", { class: "math", title: text });
  if (html) trustedHTML(cell, html);
  else cell.textContent = text;
  return cell;
}

// A formula that may be wider than the screen: it scrolls inside its own box.
function wide(html, text) {
  return el("div", { class: "scroll-x" }, math(html, text));
}

function showVerification(v) {
  const p = $("verification");
  p.hidden = false;
  p.textContent = v.text;
  p.className = v.ok === true ? "ok" : v.ok === false ? "fail" : "unknown";
}

function renderResult(d) {
  $("derivatives").replaceChildren();
  $("derivatives").hidden = true;
  $("result").hidden = false;
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
      el("td", { class: "rhs" }, wide(row.right_mathml, row.right_text)),
      el("td", { class: "shape", text: row.shape })));
  }
  showVerification(d.verification);
}

function what(one) {
  if (one.matrix) {
    return one.tensor_order === 2 ? "matrix" : one.tensor_order === 1 ? "vector" : "scalar";
  }
  return `tensor of order ${one.tensor_order}`;
}

function renderDerivatives(d) {
  $("result").hidden = true;
  $("result").tBodies[0].replaceChildren();
  const box = $("derivatives");
  box.hidden = false;
  box.replaceChildren(...d.derivatives.map((one) => {
    const section = el("section", { class: "derivative", "data-variable": one.variable,
      "data-kind": one.kind, "data-shape": one.shape });
    section.append(el("h3", {},
      math(one.label_mathml, one.label_text),
      el("span", { class: "badges" },
        el("span", { class: "badge shape", title: "shape", text: one.shape }),
        el("span", { class: "badge what", text: what(one) }))));
    section.append(el("p", { class: "help summary", text: one.summary }));
    const body = el("tbody");
    for (const f of one.forms) {
      body.append(el("tr", { class: `form form-${f.form}`, "data-form": f.form },
        el("th", { scope: "row", class: "form-name", text: f.title }),
        el("td", { class: "lhs" }, math(f.left_mathml, f.left_text)),
        el("td", { class: "eq", text: "=" }),
        el("td", { class: "rhs" }, wide(f.right_mathml, f.right_text))));
    }
    section.append(el("table", { class: "forms" }, body));
    const v = one.verification;
    section.append(el("p", { class: `check ${v.ok === true ? "ok" : v.ok === false ? "fail"
      : "unknown"}`, text: v.text }));
    if (one.explanation_html) {
      const more = el("details", { class: "explanation" },
        el("summary", { text: "What this tensor is, and how the chain rule uses it" }));
      for (const line of one.explanation_html) more.append(trustedHTML(el("p"), line));
      section.append(more);
    }
    return section;
  }));
  $("verification").hidden = true;  // each derivative says how it was checked
}

// ---- steps ---------------------------------------------------------------------------

function unavailable(feature) {
  const f = state.features && state.features[feature];
  return f && !f.available ? f.message : null;
}

async function loadSteps() {
  if (!state.query || state.query.kind !== "gradient" || state.stepsFor === state.query) return;
  const target = $("steps");
  const q = state.query;
  state.stepsFor = q;
  const missing = unavailable("steps");
  if (missing) {
    target.replaceChildren(el("p", { class: "unavailable", text: missing }));
    return;
  }
  target.replaceChildren(el("p", { class: "pending", text: "Deriving the steps…" }));
  const r = await api("/api/steps", deriveBody(q));
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

async function fetchCode(q, backend) {
  if (state.code && state.code.query === q && state.code.backend === backend) {
    return { ok: true, source: state.code.source };
  }
  const r = await api("/api/code", codeBody(q, backend));
  if (!r.ok) return { ok: false, message: r.data.error.message };
  if (state.query === q) state.code = { query: q, backend, source: r.data.source };
  return { ok: true, source: r.data.source };
}

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
  delete code.dataset.backend;
  $("copy-status").textContent = "";
  const r = await fetchCode(q, backend);
  if (state.query !== q || state.backend !== backend) return;
  if (!r.ok) return fail(r.message);
  message.hidden = true;
  code.closest(".code-box").hidden = false;
  code.textContent = r.source;
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

// ---- copying -------------------------------------------------------------------------

async function copyText(text, status, what) {
  const done = (msg) => { status.textContent = msg; };
  try {
    await navigator.clipboard.writeText(text);
    done(`Copied ${what} to the clipboard.`);
  } catch (e) {
    // Without clipboard permission: copy through a selected text box.
    const box = el("textarea", { class: "copy-buffer", readonly: "" });
    box.value = text;
    document.body.append(box);
    box.select();
    const ok = document.execCommand && document.execCommand("copy");
    box.remove();
    done(ok ? `Copied ${what} to the clipboard.` : "Copying is not allowed here; " +
      "select the text and press Ctrl+C.");
  }
}

function copyCode() {
  copyText($("code").textContent, $("copy-status"), "the code");
}

function copyLatex() {
  if (state.derived) copyText(state.derived.latex, $("copy-result-status"), "the LaTeX");
}

async function copyResultCode() {
  if (!state.query) return;
  const status = $("copy-result-status");
  const r = await fetchCode(state.query, state.backend);
  if (!r.ok) {
    status.textContent = r.message;
    return;
  }
  copyText(r.source, status, "the code");
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
  if (!state.query || state.query.kind !== "gradient") return;
  clearErrors();
  const missing = unavailable("check");
  if (missing) {
    $("verdict").replaceChildren(el("span", { class: "unavailable", text: missing }));
    return;
  }
  const q = state.query;
  const out = $("verdict");
  out.setAttribute("aria-busy", "true");
  const r = await api("/api/check", { expr: q.expr, shapes: q.shapes, sizes: q.sizes,
    variable: $("check-var").value, claim: $("claim").value });
  out.setAttribute("aria-busy", "false");
  if (state.query !== q) return;
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
  const explanation = trustedHTML(el("div", { class: "explanation" }), r.data.html);
  out.replaceChildren(el("p", {}, el("strong", { class: `verdict verdict-${v}`,
    "data-verdict": v, text: v.replace("-", " ") })), explanation);
  if (r.data.counterexample) {
    // the counterexample goes where the message states it: before the correct answer
    const answer = [...explanation.children].find((p) =>
      p.textContent.startsWith("The correct answer"));
    explanation.insertBefore(renderCounterexample(r.data.counterexample), answer || null);
  }
}

function arrayTable(a) {
  const body = el("tbody");
  for (const row of a.rows) body.append(el("tr", {}, ...row.map((x) => el("td", { text: x }))));
  return el("figure", { class: "array", "data-name": a.name },
    trustedHTML(el("span", { class: "label" }), a.label_mathml),
    el("div", { class: "scroll-x" }, el("table", { class: "matrix", title: a.shape }, body)));
}

function renderCounterexample(ce) {
  const at = el("p", {}, el("strong", { text: "Counterexample:" }), " at");
  if (ce.sizes_html) at.append(" ", trustedHTML(el("span"), ce.sizes_html));
  return el("div", { class: "counterexample" }, at,
    el("div", { class: "arrays" }, ...ce.point.map(arrayTable)),
    el("p", { text: "along" }),
    el("div", { class: "arrays" }, arrayTable(ce.direction)),
    trustedHTML(el("p", { class: "closing" }), ce.html));
}

// ---- shapes pre-filled from the expression -------------------------------------------

let inferTimer = null;
const NOTATIONS = { math: "Read as mathematical text.", latex: "Read as LaTeX." };

function showInferred(data) {
  const read = data && NOTATIONS[data.notation] ? NOTATIONS[data.notation] + " " : "";
  $("inferred").textContent = read + (data && data.inferred.length
    ? `Inferred: ${data.inferred_shapes}.` : "");
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

// ---- the gallery ---------------------------------------------------------------------

function fill(entry) {
  setKind(entry.kind || "gradient");
  $("expr").value = entry.expr;
  $("shapes").value = entry.shapes || "";
  $("wrt").value = entry.wrt || "";
  $("sizes").value = entry.sizes || "";
  $("order").value = entry.order || "";
  $("layout").value = entry.layout || "numerator";
  state.shapesEdited = $("shapes").value.trim() !== "";
}

async function loadGallery() {
  const r = await api("/api/gallery");
  if (!r.ok) {
    $("gallery").hidden = true;
    return;
  }
  $("gallery-list").replaceChildren(...r.data.entries.map((entry) => {
    const button = el("button", { type: "button", "data-id": entry.id, title: entry.note,
      "data-kind": entry.kind }, entry.title);
    if (entry.kind !== "gradient") {
      button.append(el("span", { class: "tag", text: KIND_NAME[entry.kind] }));
    }
    button.addEventListener("click", async () => {
      fill(entry);
      await derive();
      // on a narrow screen the result is below the gallery: bring it into view
      const panel = $("result-panel");
      if (!panel.hidden && panel.getBoundingClientRect().top > innerHeight * 0.6) {
        panel.scrollIntoView({ block: "start" });
      }
    });
    return el("li", {}, button);
  }));
}

// ---- keyboard and help ---------------------------------------------------------------

function typing(target) {
  return target instanceof HTMLElement &&
    (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
}

function toggleHelp() {
  const help = $("help");
  if (!help.showPopover) return;
  if (help.matches(":popover-open")) help.hidePopover();
  else help.showPopover();
}

function onKey(e) {
  if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
    e.preventDefault();
    if (e.target instanceof Element && e.target.closest("#check-form")) checkClaim();
    else derive();
  } else if (e.key === "?" && !e.ctrlKey && !e.metaKey && !e.altKey && !typing(e.target)) {
    e.preventDefault();
    toggleHelp();
  }
}

function showShortcut() {
  const platform = (navigator.userAgentData && navigator.userAgentData.platform) ||
    navigator.platform || "";
  if (/mac|iphone|ipad/i.test(platform)) {
    document.querySelector(".actions .hint").replaceChildren(
      el("kbd", { text: "⌘" }), " + ", el("kbd", { text: "Enter" }));
  }
}

// ---- wiring --------------------------------------------------------------------------

async function start() {
  showTheme();
  $("theme-toggle").addEventListener("click", toggleTheme);
  darkQuery.addEventListener("change", showTheme);
  showShortcut();
  document.addEventListener("keydown", onKey);
  for (const radio of document.querySelectorAll("input[name=kind]")) {
    radio.addEventListener("change", () => {
      showKind();
      if (state.query) derive();  // a result is on show: show this kind of it
    });
  }
  showKind();
  $("input-form").addEventListener("submit", (e) => { e.preventDefault(); derive(); });
  $("expr").addEventListener("input", scheduleInference);
  $("shapes").addEventListener("input", () => {
    state.shapesEdited = $("shapes").value.trim() !== "";
    scheduleInference();
  });
  $("steps-panel").addEventListener("toggle", () => {
    if ($("steps-panel").open) loadSteps();
  });
  for (const b of document.querySelectorAll(".tabs [role=tab]")) {
    b.addEventListener("click", () => selectBackend(b));
  }
  $("copy").addEventListener("click", copyCode);
  $("copy-latex").addEventListener("click", copyLatex);
  $("copy-code").addEventListener("click", copyResultCode);
  $("check-form").addEventListener("submit", (e) => { e.preventDefault(); checkClaim(); });

  const [features] = await Promise.all([api("/api/features"), loadGallery()]);
  if (features.ok) state.features = features.data;

  // A shared link: fill the form from the URL and show the result at once.
  const params = new URLSearchParams(location.search);
  if (params.has("expr")) {
    fill({ kind: ENDPOINT[params.get("kind")] ? params.get("kind") : "gradient",
           expr: params.get("expr"), shapes: params.get("shapes"), wrt: params.get("wrt"),
           sizes: params.get("sizes"), order: params.get("order"),
           layout: params.get("layout") });
    await derive();
  }
  document.body.dataset.ready = "true";
}

start();
