// Agora run browser: plain JavaScript over the REST API, no build step.
// One shell page (index.html); this script reads location.pathname and draws:
//   /                                   runs and sweeps (filters, pages)
//   /ui/new                             start a run from a shipped scenario
//   /ui/runs/{id}                       a run (live progress over SSE, metrics, plots, scenario)
//   /ui/runs/{id}/conversations[/{c}]   a marketplace run, one customer's conversation
//   /ui/runs/{id}/transcript[/{agent}]  an LLM run, one agent's exchanges with the model
//   /ui/runs/{id}/events                a run's event log: filters (kind, agent, time), pages, CSV
//   /ui/runs/{id}/businesses[/{b}]      a marketplace run, what one business received and proposed
//   /ui/compare?ids=A&ids=B             runs side by side: parameters diffed, metrics, theory, a chart
//   /ui/edit                            the scenario editor: validate as you type, run, launch a sweep
//   /ui/sweeps/{id}                     a sweep (grid, figures, tidy table, CSV and Parquet)
// Every request carries the API key (asked once when the server answers 401) as a bearer token.
"use strict";

const STATUSES = ["queued", "running", "finished", "degraded", "failed", "interrupted", "cancelled", "budget_exhausted"];
const ACTIVE = new Set(["queued", "running"]);
const KEY_NAME = "agora.apiKey";
const main = () => document.getElementById("main");

// ---------------------------------------------------------------- small helpers

function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

function num(value, digits = 4) {
  if (value === null || value === undefined || value === "") return "";
  if (typeof value === "number") {
    if (!Number.isFinite(value)) return String(value);
    if (Number.isInteger(value)) return value.toLocaleString("en-US");
    const abs = Math.abs(value);
    if (abs !== 0 && (abs < 1e-3 || abs >= 1e7)) return value.toExponential(3);
    return Number(value.toPrecision(digits + 2)).toLocaleString("en-US", { maximumFractionDigits: digits });
  }
  return String(value);
}

function when(unix) {
  if (!unix) return "";
  const d = new Date(unix * 1000);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

function seconds(value) {
  if (value === null || value === undefined) return "";
  if (value < 1) return `${(value * 1000).toFixed(0)} ms`;
  if (value < 120) return `${value.toFixed(value < 10 ? 2 : 1)} s`;
  return `${Math.floor(value / 60)} min ${Math.round(value % 60)} s`;
}

function badge(status) {
  return `<span class="badge status-${esc(status)}">${esc(status)}</span>`;
}

function short(value, limit = 120) {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text.length > limit ? text.slice(0, limit - 1) + "…" : text;
}

function scalar(value) {
  if (typeof value === "number") return value;
  if (Array.isArray(value) && value.length === 1 && typeof value[0] === "number") return value[0];
  return null;
}

function setTitle(text) {
  document.title = text ? `${text} · Agora` : "Agora";
}

function ready(name) {
  window.agoraReadyAt = performance.now(); // ms since navigation start (read by bench/web.py)
  document.body.dataset.ready = name;
}

// ---------------------------------------------------------------- API access (bearer key, problem+json)

class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || { status, detail: `HTTP ${status}` };
  }
}

function storedKey() {
  return sessionStorage.getItem(KEY_NAME) || localStorage.getItem(KEY_NAME);
}

function forgetKey() {
  sessionStorage.removeItem(KEY_NAME);
  localStorage.removeItem(KEY_NAME);
}

let keyPrompt = null; // one dialog, however many requests got a 401

function askKey(detail) {
  if (keyPrompt) return keyPrompt;
  keyPrompt = new Promise((resolve) => {
    const box = document.createElement("div");
    box.className = "modal";
    box.innerHTML = `<form id="key-form" class="card" autocomplete="off">
        <h2>API key needed</h2>
        <p>This server is protected by <code>AGORA_API_KEY</code>. Enter the key; it is sent as a bearer token.</p>
        <p class="field-error" id="key-error">${esc(detail || "")}</p>
        <label>Key <input type="password" id="key-input" required autofocus></label>
        <label class="inline"><input type="checkbox" id="key-remember" checked> remember on this device</label>
        <button type="submit" id="key-submit">Use key</button>
      </form>`;
    document.body.appendChild(box);
    box.querySelector("#key-input").focus();
    box.querySelector("form").addEventListener("submit", (event) => {
      event.preventDefault();
      const key = box.querySelector("#key-input").value.trim();
      if (!key) return;
      forgetKey();
      (box.querySelector("#key-remember").checked ? localStorage : sessionStorage).setItem(KEY_NAME, key);
      box.remove();
      keyPrompt = null;
      showForget();
      resolve(key);
    });
  });
  return keyPrompt;
}

async function request(path, options = {}, attempt = 0) {
  const headers = new Headers(options.headers || {});
  const key = storedKey();
  if (key) headers.set("Authorization", `Bearer ${key}`);
  const response = await fetch(path, { ...options, headers });
  if (response.status === 401 && attempt < 5) {
    const problem = await response.json().catch(() => null);
    if (key) forgetKey();
    await askKey(key ? "That key was refused: " + (problem?.detail || "") : problem?.detail);
    return request(path, options, attempt + 1);
  }
  if (!response.ok) {
    let problem = null;
    try { problem = await response.json(); } catch (_) { /* not JSON */ }
    throw new ApiError(response.status, problem);
  }
  return response;
}

// Seeds go up to 2**63: keep integers past 2**53 exact by reading their source text (JSON.parse source access).
const exact = (key, value, context) => (typeof value === "number" && !Number.isSafeInteger(value) && Number.isInteger(value) && context?.source ? context.source : value);

const api = {
  json: async (path, options) => JSON.parse(await (await request(path, options)).text(), exact),
  text: async (path) => (await request(path)).text(),
  blob: async (path) => (await request(path)).blob(),
  post: async (path, body) => (await request(path, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  })).json(),
};

// Server-Sent Events over fetch (EventSource cannot send an Authorization header).
async function sse(path, onMessage, signal) {
  const response = await request(path, { signal, headers: { Accept: "text/event-stream" } });
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let name = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length) onMessage(name, JSON.parse(data.join("\n")));
    }
  }
}

function showForget() {
  const button = document.getElementById("forget-key");
  if (button) button.hidden = !storedKey();
}

function showError(error, where = main()) {
  const problem = error instanceof ApiError ? error.problem : { title: "Error", detail: String(error) };
  where.innerHTML = `<div class="card problem"><h2>${esc(problem.title || "Error")}</h2>
    <p>${esc(problem.detail || "")}</p>${problem.status ? `<p class="muted">HTTP ${esc(problem.status)}</p>` : ""}</div>`;
  ready("error");
}

// ---------------------------------------------------------------- the run list

const PAGE_SIZES = [25, 50, 100, 200, 500, 1000];

async function fetchRuns(query, limit, cursor) {
  // The API serves at most 200 runs a page: bigger pages follow next_cursor.
  const items = [];
  let next = cursor || null;
  do {
    const params = new URLSearchParams(query);
    params.set("limit", String(Math.min(200, limit - items.length)));
    if (next) params.set("cursor", next);
    const page = await api.json(`/runs?${params}`);
    items.push(...page.items);
    next = page.next_cursor;
  } while (next && items.length < limit);
  return { items, next_cursor: next };
}

async function renderList() {
  const url = new URL(location.href);
  const query = {};
  for (const name of ["world", "status", "scenario", "include_sweep_cells"]) {
    const value = url.searchParams.get(name);
    if (value) query[name] = value;
  }
  const limit = PAGE_SIZES.includes(Number(url.searchParams.get("limit"))) ? Number(url.searchParams.get("limit")) : 50;
  const cursor = url.searchParams.get("cursor") || "";
  const back = (url.searchParams.get("back") || "").split(".").filter(Boolean);
  setTitle("Runs");
  const [runs, sweeps] = await Promise.all([
    fetchRuns(query, limit, cursor),
    cursor || Object.keys(query).some((k) => k !== "include_sweep_cells") ? Promise.resolve(null) : api.json("/sweeps?limit=20").catch(() => null),
  ]);
  const worlds = [...new Set(runs.items.map((r) => r.world))].sort();
  const link = (changes) => {
    const next = new URL(location.href);
    for (const [k, v] of Object.entries(changes)) {
      if (v === null || v === "") next.searchParams.delete(k); else next.searchParams.set(k, v);
    }
    return next.pathname + next.search;
  };
  const older = runs.next_cursor ? link({ cursor: runs.next_cursor, back: [...back, cursor || "~"].join(".") }) : null;
  const prev = back.length ? back[back.length - 1] : null;
  const newer = cursor ? link({ cursor: prev === "~" ? null : prev, back: back.slice(0, -1).join(".") || null }) : null;

  const rows = runs.items.map((r) => `<tr data-run="${esc(r.id)}">
      <td><input type="checkbox" class="pick" value="${esc(r.id)}" aria-label="select run ${esc(r.id)} to compare"></td>
      <td><a href="/ui/runs/${esc(r.id)}">${esc(r.id)}</a></td>
      <td>${badge(r.status)}${ACTIVE.has(r.status) ? ` <span class="muted">${Math.round(100 * r.progress)}%</span>` : ""}</td>
      <td>${esc(r.world)}</td>
      <td>${esc(r.scenario_name)}${r.sweep_id ? ` <a class="muted" href="/ui/sweeps/${esc(r.sweep_id)}">(sweep)</a>` : ""}</td>
      <td class="num">${esc(r.seed)}</td>
      <td>${esc(when(r.started_at || r.created_at))}</td>
      <td class="num">${esc(seconds(r.duration))}</td>
      <td class="num">${esc(num(r.metrics?.welfare))}</td>
    </tr>`).join("");
  const sweepBlock = sweeps && sweeps.items.length ? `<section><h2>Sweeps</h2>
      <table class="grid" id="sweeps"><thead><tr><th>Sweep</th><th>Status</th><th>World</th><th>Scenario</th>
      <th class="num">Cells done</th><th>Started</th></tr></thead><tbody>${sweeps.items.map((s) => `<tr>
        <td><a href="/ui/sweeps/${esc(s.id)}">${esc(s.id)}</a></td><td>${badge(s.status)}</td><td>${esc(s.world)}</td>
        <td>${esc(s.scenario_name)}</td><td class="num">${esc(s.done)} / ${esc(s.n_cells)}</td><td>${esc(when(s.created_at))}</td>
      </tr>`).join("")}</tbody></table></section>` : "";

  main().innerHTML = `${sweepBlock}<section><h2>Runs</h2>
    <form id="filters" class="filters" method="get" action="/">
      <label>World <input name="world" list="world-list" value="${esc(query.world || "")}" size="14"></label>
      <datalist id="world-list">${worlds.map((w) => `<option value="${esc(w)}">`).join("")}</datalist>
      <label>Status <select name="status"><option value="">any</option>${STATUSES.map((s) =>
        `<option${s === query.status ? " selected" : ""}>${s}</option>`).join("")}</select></label>
      <label>Scenario <input name="scenario" value="${esc(query.scenario || "")}" size="18" placeholder="exact name"></label>
      <label>Per page <select name="limit">${PAGE_SIZES.map((n) => `<option${n === limit ? " selected" : ""}>${n}</option>`).join("")}</select></label>
      <label class="inline"><input type="checkbox" name="include_sweep_cells" value="true"${query.include_sweep_cells ? " checked" : ""}> runs of sweeps too</label>
      <button type="submit">Filter</button> <a href="/">clear</a>
      <a class="button" href="/ui/new">New run</a> <a class="button" href="/ui/edit">Scenario editor</a>
      <button type="button" id="compare" disabled>Compare selected</button>
    </form>
    <table class="grid" id="runs" data-rows="${runs.items.length}"><thead><tr><th></th><th>Run</th><th>Status</th><th>World</th><th>Scenario</th>
      <th class="num">Seed</th><th>Started</th><th class="num">Duration</th><th class="num">Welfare</th></tr></thead>
      <tbody>${rows || `<tr><td colspan="9" class="muted">No runs${Object.keys(query).length ? " match these filters" : " yet"}.</td></tr>`}</tbody></table>
    <nav class="pager">${newer ? `<a id="newer" href="${esc(newer)}">← newer</a>` : ""}
      <span class="muted">${runs.items.length} run${runs.items.length === 1 ? "" : "s"} shown</span>
      ${older ? `<a id="older" href="${esc(older)}">older →</a>` : ""}</nav></section>`;
  const worldInput = document.querySelector("#filters input[name=world]");
  worldInput.addEventListener("focus", async () => {
    // Every world a shipped scenario uses, fetched once when the field is first used.
    if (worldInput.dataset.filled) return;
    worldInput.dataset.filled = "1";
    const scenarios = await api.json("/scenarios").catch(() => []);
    const all = new Set([...worlds, ...scenarios.map((s) => s.world).filter(Boolean)]);
    document.getElementById("world-list").innerHTML = [...all].sort().map((w) => `<option value="${esc(w)}">`).join("");
  });
  const compare = document.getElementById("compare");
  const picked = () => [...document.querySelectorAll("#runs input.pick:checked")].map((box) => box.value);
  document.getElementById("runs").addEventListener("change", () => {
    const n = picked().length;
    compare.disabled = n < 2;
    compare.textContent = n >= 2 ? `Compare ${n} runs` : "Compare selected";
  });
  compare.addEventListener("click", () => { location.href = `/ui/compare?${picked().map((id) => `ids=${encodeURIComponent(id)}`).join("&")}`; });
  document.getElementById("filters").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const params = new URLSearchParams();
    for (const [k, v] of form) if (v && !(k === "limit" && v === "50")) params.set(k, v);
    location.href = "/" + (params.toString() ? `?${params}` : "");
  });
  ready("list");
  // Redraw while runs are going, unless runs are picked for comparison (a redraw would clear the ticks).
  if (runs.items.some((r) => ACTIVE.has(r.status))) setTimeout(() => (picked().length ? null : renderList().catch(showError)), 2000);
}

// ---------------------------------------------------------------- charts (inline SVG, no library)

function ticks(lo, hi, n = 5) {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) || raw;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

function lineChart({ series, hlines = [], xLabel = "", yLabel = "", width = 640, height = 260, id = "" }) {
  // series: [{name, points: [[x, y]], dashed}], hlines: [{name, points}] drawn dashed. Every point in view.
  const all = series.concat(hlines).flatMap((s) => s.points);
  if (!all.length) return `<p class="muted">Nothing to draw.</p>`;
  const xs = all.map((p) => p[0]), ys = all.map((p) => p[1]).concat([0]);
  let [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) y1 = y0 + 1;
  const pad = { l: 62, r: 14, t: 12, b: 40 };
  const X = (x) => pad.l + (x - x0) / (x1 - x0) * (width - pad.l - pad.r);
  const Y = (y) => height - pad.b - (y - y0) / (y1 - y0) * (height - pad.t - pad.b);
  const path = (points) => points.map((p, i) => `${i ? "L" : "M"}${X(p[0]).toFixed(1)},${Y(p[1]).toFixed(1)}`).join("");
  const colours = ["#2357c6", "#b42318", "#137a3a", "#a15c07", "#8a5cf5", "#0e7490"];
  const lines = series.map((s, i) => `<path class="series" data-name="${esc(s.name)}" d="${path(s.points)}" fill="none" stroke="${colours[i % 6]}" stroke-width="2"/>`)
    .concat(hlines.map((s, i) => `<path class="theory" data-name="${esc(s.name)}" d="${path(s.points)}" fill="none" stroke="${colours[(i + 1) % 6]}" stroke-width="1.5" stroke-dasharray="6 4"/>`));
  const legend = series.map((s, i) => [s.name, colours[i % 6], ""]).concat(hlines.map((s, i) => [s.name, colours[(i + 1) % 6], "6 4"]))
    .map(([name, colour, dash], i) => `<g transform="translate(${pad.l + 8},${pad.t + 12 + 15 * i})"><line x2="22" stroke="${colour}" stroke-width="2" stroke-dasharray="${dash}"/>
      <text x="28" y="4">${esc(name)}</text></g>`).join("");
  const gx = ticks(x0, x1).map((v) => `<g><line x1="${X(v)}" x2="${X(v)}" y1="${height - pad.b}" y2="${height - pad.b + 4}" stroke="#6b7280"/>
    <text x="${X(v)}" y="${height - pad.b + 16}" text-anchor="middle">${esc(num(v, 3))}</text></g>`).join("");
  const gy = ticks(y0, y1).map((v) => `<g><line x1="${pad.l}" x2="${width - pad.r}" y1="${Y(v)}" y2="${Y(v)}" stroke="#e3e6ec"/>
    <text x="${pad.l - 6}" y="${Y(v) + 4}" text-anchor="end">${esc(num(v, 3))}</text></g>`).join("");
  return `<svg class="chart" ${id ? `id="${id}"` : ""} viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-label="${esc(yLabel)} over ${esc(xLabel)}">
    ${gy}${gx}<line x1="${pad.l}" x2="${width - pad.r}" y1="${height - pad.b}" y2="${height - pad.b}" stroke="#6b7280"/>
    ${lines.join("")}${legend}
    <text x="${(pad.l + width - pad.r) / 2}" y="${height - 6}" text-anchor="middle" class="axis">${esc(xLabel)}</text>
    <text transform="translate(14,${(pad.t + height - pad.b) / 2}) rotate(-90)" text-anchor="middle" class="axis">${esc(yLabel)}</text></svg>`;
}

function barChart({ labels, values, markers = [], yLabel = "", width = 640, height = 240, id = "" }) {
  // One bar per label; markers: [{name, values}] drawn as ticks across the bars (theory beside simulation).
  const numbers = values.concat(markers.flatMap((m) => m.values)).filter((v) => typeof v === "number").concat([0]);
  if (numbers.length === 1) return `<p class="muted">Nothing to draw.</p>`;
  let y0 = Math.min(...numbers), y1 = Math.max(...numbers);
  if (y1 === y0) y1 = y0 + 1;
  const pad = { l: 62, r: 14, t: 12, b: 46 };
  const slot = (width - pad.l - pad.r) / labels.length;
  const Y = (y) => height - pad.b - (y - y0) / (y1 - y0) * (height - pad.t - pad.b);
  const bars = values.map((v, i) => typeof v !== "number" ? "" : `<rect class="bar" data-label="${esc(labels[i])}" x="${pad.l + i * slot + slot * 0.15}"
      y="${Math.min(Y(v), Y(0))}" width="${slot * 0.7}" height="${Math.abs(Y(v) - Y(0))}" fill="#2357c6"><title>${esc(labels[i])}: ${esc(num(v))}</title></rect>`).join("");
  const colours = ["#b42318", "#137a3a", "#a15c07"];
  const marks = markers.map((m, k) => m.values.map((v, i) => typeof v !== "number" ? "" : `<line class="marker" x1="${pad.l + i * slot + slot * 0.05}"
      x2="${pad.l + (i + 1) * slot - slot * 0.05}" y1="${Y(v)}" y2="${Y(v)}" stroke="${colours[k % 3]}" stroke-width="2.5" stroke-dasharray="5 3"><title>${esc(m.name)}: ${esc(num(v))}</title></line>`).join("")).join("");
  const legend = markers.map((m, k) => `<g transform="translate(${pad.l + 8},${pad.t + 10 + 14 * k})"><line x2="20" stroke="${colours[k % 3]}" stroke-width="2.5" stroke-dasharray="5 3"/><text x="26" y="4">${esc(m.name)}</text></g>`).join("");
  const xl = labels.map((l, i) => `<text x="${pad.l + (i + 0.5) * slot}" y="${height - pad.b + 16}" text-anchor="middle">${esc(short(l, Math.max(6, Math.floor(slot / 7))))}</text>`).join("");
  const gy = ticks(y0, y1).map((v) => `<g><line x1="${pad.l}" x2="${width - pad.r}" y1="${Y(v)}" y2="${Y(v)}" stroke="#e3e6ec"/>
    <text x="${pad.l - 6}" y="${Y(v) + 4}" text-anchor="end">${esc(num(v, 3))}</text></g>`).join("");
  return `<svg class="chart" ${id ? `id="${id}"` : ""} viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-label="${esc(yLabel)}">
    ${gy}${bars}${marks}${xl}${legend}<line x1="${pad.l}" x2="${width - pad.r}" y1="${Y(0)}" y2="${Y(0)}" stroke="#6b7280"/>
    <text transform="translate(14,${(pad.t + height - pad.b) / 2}) rotate(-90)" text-anchor="middle" class="axis">${esc(yLabel)}</text></svg>`;
}

function histogram(values, bins = 20) {
  // Counts of values in equal-width bins: a distribution of payoffs for runs with many agents.
  const lo = Math.min(...values), hi = Math.max(...values);
  const width = hi > lo ? (hi - lo) / bins : 1;
  const counts = new Array(hi > lo ? bins : 1).fill(0);
  for (const v of values) counts[Math.min(counts.length - 1, Math.floor((v - lo) / width))] += 1;
  return barChart({ labels: counts.map((_, i) => num(lo + (i + 0.5) * width, 2)), values: counts, yLabel: "agents", id: "payoff-histogram" });
}

function quantile(sorted, q) {
  const at = (sorted.length - 1) * q, i = Math.floor(at);
  return i + 1 < sorted.length ? sorted[i] + (at - i) * (sorted[i + 1] - sorted[i]) : sorted[i];
}

// ---------------------------------------------------------------- the run page

function welfareRows(metrics) {
  // Theory beside simulation: every scalar welfare benchmark the world reports, on its own scale
  // (per round for stage-game / per-round quantities), and the gap simulation - theory.
  const theory = metrics.theory || {};
  const measures = metrics.measures || {};
  const total = typeof metrics.welfare === "number" ? metrics.welfare : null;
  const rounds = typeof measures.rounds === "number" && measures.rounds > 0 ? measures.rounds : null;
  const perRound = typeof measures.welfare_per_round === "number" ? measures.welfare_per_round
    : total !== null && rounds ? total / rounds : null;
  const rows = [];
  const entries = [];
  for (const [key, raw] of Object.entries(theory)) {
    // Several equilibria give a list of welfares: one row each.
    if (Array.isArray(raw) && raw.length > 1 && raw.length <= 10 && raw.every((v) => typeof v === "number")) {
      raw.forEach((v, i) => entries.push([key, `${key}[${i}]`, v]));
    } else if (scalar(raw) !== null) entries.push([key, key, scalar(raw)]);
  }
  for (const [key, label, value] of entries) {
    const welfareLike = /welfare/.test(key) || /^(optimal|optimum|cheapest|random.*)$/.test(key);
    if (!welfareLike || /gap|fraction|ratio|price_of|step/.test(key)) continue;
    const stage = /per_round|^stage_/.test(key);
    const sim = stage ? perRound : total;
    if (sim === null) continue;
    const kind = /equilibri|nash/.test(key) ? "equilibrium" : /optim/.test(key) ? "optimum" : "benchmark";
    rows.push({ key: label, kind, scale: stage ? "per round" : "total", theory: value, sim, gap: sim - value });
  }
  const order = { equilibrium: 0, optimum: 1, benchmark: 2 };
  rows.sort((a, b) => order[a.kind] - order[b.kind]);
  return { rows, total, perRound, rounds };
}

function guessedComparison(metrics) {
  // Used only when the run JSON has no `comparison` (the world declares no pairs): welfare benchmarks on
  // their own scale, and every theory key that the measures report under the same name.
  const w = welfareRows(metrics);
  const rows = w.rows.map((row) => ({ quantity: `${row.kind}: ${row.key}`, theory: row.theory, simulated: row.sim, gap: row.gap,
    note: row.scale === "per round" ? `per round (${num(w.rounds)} rounds)` : "total", kind: row.kind }));
  const measures = flatten(metrics.measures);
  for (const [key, raw] of Object.entries(flatten(metrics.theory))) {
    const t = scalar(raw), m = scalar(measures[key]);
    if (t !== null && m !== null) rows.push({ quantity: key, theory: t, simulated: m, gap: m - t, note: "same name in theory and measures", kind: "measure" });
  }
  return rows;
}

function comparisonSection(run) {
  const metrics = run.metrics || {};
  if (!Object.keys(metrics).length) {
    return `<p class="muted">No metrics yet${ACTIVE.has(run.status) ? " — the run is still going" : ""}.</p>`;
  }
  const declared = Array.isArray(run.comparison) && run.comparison.length;
  const rows = declared ? run.comparison : guessedComparison(metrics);
  const gapCell = (row) => {
    if (typeof row.gap !== "number") return `<td class="num muted">–</td>`;
    const pct = typeof row.theory === "number" && row.theory !== 0 ? ` <span class="muted">(${num(100 * row.gap / Math.abs(row.theory), 1)}%)</span>` : "";
    return `<td class="num ${row.gap < 0 ? "neg" : "pos"}">${esc(num(row.gap))}${pct}</td>`;
  };
  const value = (v) => typeof v === "number" ? esc(num(v)) : v === null || v === undefined ? `<span class="muted">–</span>` : `<code>${esc(short(v, 80))}</code>`;
  const body = rows.map((row) => `<tr data-quantity="${esc(row.quantity)}"${row.kind ? ` data-kind="${esc(row.kind)}"` : ""}>
      <td>${esc(row.quantity)}</td><td class="num">${value(row.theory)}</td><td class="num">${value(row.simulated)}</td>${gapCell(row)}
      <td class="muted">${esc(row.note || "")}</td></tr>`).join("");
  return `<table class="grid" id="comparison" data-source="${declared ? "api" : "page"}"><thead><tr><th>Quantity</th><th class="num">Theory</th>
      <th class="num">Simulated</th><th class="num">Gap (sim − theory)</th><th>Note</th></tr></thead><tbody>
      <tr class="sim"><td>simulated welfare (total)</td><td></td><td class="num" id="welfare-total">${esc(num(metrics.welfare))}</td><td></td><td></td></tr>
      ${body || `<tr><td colspan="5" class="muted">This world reports no theory quantity to pair with a measure.</td></tr>`}</tbody></table>
      ${declared ? "" : `<p class="muted">Pairs guessed by the page (the run JSON has no <code>comparison</code>).</p>`}`;
}

const PAYOFF_PAGE = 100;

function payoffsSection(payoffs) {
  // Up to 50 agents: a table. More: summary, distribution and a paged table (never 2,000 rows at once).
  const entries = Object.entries(payoffs || {});
  const numbers = entries.map(([, v]) => v).filter((v) => typeof v === "number" && Number.isFinite(v));
  if (entries.length <= 50 || numbers.length < entries.length) return kvTable(payoffs, "payoffs");
  const sorted = [...numbers].sort((a, b) => a - b);
  const mean = numbers.reduce((a, b) => a + b, 0) / numbers.length;
  const stats = [["agents", entries.length], ["mean", mean], ["min", sorted[0]], ["25%", quantile(sorted, 0.25)],
    ["median", quantile(sorted, 0.5)], ["75%", quantile(sorted, 0.75)], ["max", sorted[sorted.length - 1]]];
  return `<table class="grid kv" id="payoff-summary"><tbody>${stats.map(([k, v]) => `<tr><th>${esc(k)}</th><td class="num">${esc(num(v))}</td></tr>`).join("")}</tbody></table>
    ${histogram(numbers)}
    <div id="payoff-pages" data-pages="${Math.ceil(entries.length / PAYOFF_PAGE)}"></div>`;
}

function wirePayoffPages(payoffs) {
  const box = document.getElementById("payoff-pages");
  if (!box) return;
  const entries = Object.entries(payoffs);
  const pages = Math.ceil(entries.length / PAYOFF_PAGE);
  const show = (page) => {
    box.innerHTML = `${kvTable(Object.fromEntries(entries.slice(page * PAYOFF_PAGE, (page + 1) * PAYOFF_PAGE)), "payoffs")}
      <nav class="pager"><button type="button" class="link" id="payoffs-prev"${page ? "" : " disabled"}>← previous</button>
      <span class="muted" id="payoffs-page">agents ${page * PAYOFF_PAGE + 1}–${Math.min(entries.length, (page + 1) * PAYOFF_PAGE)} of ${entries.length}</span>
      <button type="button" class="link" id="payoffs-next"${page + 1 < pages ? "" : " disabled"}>next →</button></nav>`;
    box.querySelector("#payoffs-prev").addEventListener("click", () => show(page - 1));
    box.querySelector("#payoffs-next").addEventListener("click", () => show(page + 1));
  };
  show(0);
}

function kvTable(object, id) {
  return `<table class="grid kv" id="${id}"><tbody>${Object.entries(object || {}).map(([k, v]) =>
    `<tr><th>${esc(k)}</th><td class="${typeof v === "number" ? "num" : ""}">${typeof v === "number" ? esc(num(v)) :
      `<code>${esc(short(v, 300))}</code>`}</td></tr>`).join("")}</tbody></table>`;
}

function metricsSection(run) {
  const metrics = run.metrics || {};
  if (!Object.keys(metrics).length) return { welfare: comparisonSection(run), details: "" };
  return {
    welfare: comparisonSection(run),
    details: `<div class="cols"><div><h3>Theory</h3>${kvTable(flatten(metrics.theory), "theory")}<h3>Payoffs</h3>${payoffsSection(metrics.payoffs)}</div>
      <div><h3>Measures</h3>${kvTable(flatten(metrics.measures), "measures")}</div></div>`,
  };
}

async function drawSeries(run) {
  const box = document.getElementById("series");
  if (!box) return;
  try {
    const data = await api.json(`/ui/api/runs/${encodeURIComponent(run.id)}/series`);
    if (!data.points.length) {
      box.innerHTML = `<p class="muted">No welfare over time: ${esc(data.note)}.</p>`;
      box.dataset.ready = "empty";
      return;
    }
    // Theory accrues k/N of its total after k of the run's N payoff steps (the per-round prediction x rounds so far).
    const hlines = data.theory.map((line) => ({ name: `theory: ${line.label}`, points: data.points.map((p) => [p[0], line.value * p[2] / data.steps]) }));
    box.innerHTML = lineChart({ series: [{ name: "simulated welfare (cumulative)", points: data.points.map((p) => [p[0], p[1]]) }], hlines,
      xLabel: "simulated time", yLabel: "welfare", id: "series-chart" })
      + `<p class="muted">Dashed: theory, accruing evenly over the run's ${esc(num(data.steps))} payoff steps to its predicted total. ${esc(num(data.events_read))} events read.</p>`;
    box.dataset.ready = "chart";
  } catch (error) {
    box.innerHTML = `<p class="field-error">Welfare over time is unavailable: ${esc(error.message)}</p>`;
    box.dataset.ready = "error";
    return;
  }
  // The world's own per-round series (measures that are lists of numbers, e.g. contribution_by_round), beside it.
  const lists = Object.entries(flatten(run.metrics?.measures)).filter(([, v]) => Array.isArray(v) && v.length >= 3 && v.length <= 20000
    && v.every((x) => typeof x === "number" && Number.isFinite(x))).slice(0, 2);
  for (const [key, values] of lists) {
    const step = Math.max(1, Math.ceil(values.length / 400));
    const points = values.map((v, i) => [i, v]).filter((_, i) => i % step === 0 || i === values.length - 1);
    box.insertAdjacentHTML("beforeend", `<h3>${esc(key)} <span class="muted">by index (round)</span></h3>`
      + lineChart({ series: [{ name: key, points }], xLabel: "round", yLabel: key, id: `measure-${key.replace(/[^A-Za-z0-9_-]/g, "_")}` }));
  }
}

function flatten(object, prefix = "", out = {}, depth = 0) {
  // Nested mappings of scalars read better as dotted rows (mean_payoff_per_round.alice); lists stay whole.
  for (const [k, v] of Object.entries(object || {})) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === "object" && !Array.isArray(v) && depth < 2 && Object.keys(v).length <= 40) flatten(v, key, out, depth + 1);
    else out[key] = v;
  }
  return out;
}

function loadImage(img, path) {
  // The image stays hidden behind a "drawing…" placeholder until it has decoded: never a broken image.
  img.hidden = true;
  const holder = Object.assign(document.createElement("div"), { className: "placeholder", textContent: "drawing the plot…" });
  img.before(holder);
  return api.blob(path).then((blob) => new Promise((resolve, reject) => {
    img.onload = () => { holder.remove(); img.hidden = false; resolve(img); };
    img.onerror = () => reject(new Error(`the image ${path} did not decode`));
    img.src = URL.createObjectURL(blob);
  })).catch((error) => {
    holder.remove();
    img.replaceWith(Object.assign(document.createElement("p"), { className: "field-error", textContent: `${path}: ${error.message}` }));
  });
}

function plotsSection(id, names) {
  if (!names.length) return `<p class="muted">No plots for this run yet.</p>`;
  return `<div class="plots">${names.map((name) => `<figure><img class="plot" data-plot="${esc(name)}" alt="${esc(name)} plot"
      data-src="/runs/${esc(id)}/plots/${esc(name)}.png"><figcaption>${esc(name)} ·
      <a href="#" data-download="/runs/${esc(id)}/plots/${esc(name)}.svg" data-name="${esc(id)}-${esc(name)}.svg">SVG</a></figcaption></figure>`).join("")}</div>`;
}

function wireImages(root) {
  for (const img of root.querySelectorAll("img[data-src]")) loadImage(img, img.dataset.src);
  for (const a of root.querySelectorAll("a[data-download]")) {
    a.addEventListener("click", async (event) => {
      event.preventDefault();
      let blob;
      try { blob = await api.blob(a.dataset.download); } catch (error) {
        const where = document.getElementById("download-error");
        if (where) where.textContent = `${a.dataset.name}: ${error.message}`; else alert(error.message);
        return;
      }
      const href = URL.createObjectURL(blob);
      const tmp = Object.assign(document.createElement("a"), { href, download: a.dataset.name });
      document.body.appendChild(tmp);
      tmp.click();
      tmp.remove();
    });
  }
}

function parametersSection(details) {
  if (!details) return "";
  if (!details.parameters) return `<p class="muted">${esc(details.problem || "")}</p>`;
  const p = details.parameters;
  const overrides = p.overrides.length ? `<p>Overrides: ${p.overrides.map(([k, v]) => `<code>${esc(k)}=${esc(JSON.stringify(v))}</code>`).join(" ")}</p>` : "";
  const flat = [];
  const walk = (prefix, value) => {
    if (value && typeof value === "object" && !Array.isArray(value) && Object.keys(value).length) {
      for (const [k, v] of Object.entries(value)) walk(prefix ? `${prefix}.${k}` : k, v);
    } else flat.push([prefix, value]);
  };
  walk("world", p.world);
  walk("agents", p.agents);
  walk("run", p.run);
  return `${overrides}<table class="grid kv" id="parameters"><tbody>${flat.map(([k, v]) =>
    `<tr><th><code>${esc(k)}</code></th><td><code>${esc(short(v, 200))}</code></td></tr>`).join("")}</tbody></table>`;
}

const runState = { stream: null };
const NO_EVENTS = String(Number.MAX_SAFE_INTEGER); // an ?after= past any event: progress only

async function renderRun(id) {
  const [run, details, plots] = await Promise.all([
    api.json(`/runs/${encodeURIComponent(id)}`),
    api.json(`/ui/api/runs/${encodeURIComponent(id)}/details`).catch(() => null),
    api.json(`/runs/${encodeURIComponent(id)}/plots`).then((page) => page.items, () => []),
  ]);
  setTitle(`Run ${run.id}`);
  const s = run.summary || {};
  const pct = Math.round(100 * (run.progress || 0));
  const market = run.world === "marketplace";
  const metrics = metricsSection(run);
  const logged = details?.events_logged ?? s.events ?? 0; // record_events: false leaves the log empty
  main().innerHTML = `<h1>${esc(run.scenario_name)} <span class="muted">run ${esc(run.id)}</span> ${badge(run.status)}</h1>
    <div class="card">
      <div class="progress-row"><progress id="progress" max="100" value="${pct}"></progress>
        <span id="progress-text">${pct}%</span> <span id="progress-status">${esc(run.status)}</span>
        ${ACTIVE.has(run.status) ? `<button id="cancel" class="link">cancel run</button>` : ""}</div>
      <dl class="facts">
        <dt>World</dt><dd>${esc(run.world)}</dd><dt>Seed</dt><dd>${esc(run.seed)}</dd>
        <dt>Submitted</dt><dd>${esc(when(run.created_at))}</dd><dt>Started</dt><dd>${esc(when(run.started_at))}</dd>
        <dt>Queued</dt><dd>${esc(seconds(run.queued_seconds))}</dd><dt>Duration</dt><dd>${esc(seconds(run.duration))}</dd>
        <dt>Events</dt><dd>${esc(num(s.events))}</dd><dt>Simulated time</dt><dd>${esc(num(s.sim_time))}</dd>
        <dt>Version</dt><dd>${esc(run.version)}</dd>
        ${llmFacts(s.counters || {})}
        ${run.sweep_id ? `<dt>Sweep</dt><dd><a href="/ui/sweeps/${esc(run.sweep_id)}">${esc(run.sweep_id)}</a></dd>` : ""}
      </dl>
      ${run.error ? `<p class="field-error">${esc(run.error)}</p>` : ""}
      ${s.reason && run.status !== "finished" ? `<p class="field-error" id="stop-reason">${esc(s.reason)}</p>` : ""}
      <p>${market && logged ? `<a id="conversations-link" class="button" href="/ui/runs/${esc(run.id)}/conversations">Customer conversations</a>
          <a id="businesses-link" class="button" href="/ui/runs/${esc(run.id)}/businesses">Business side</a> ` : ""}
        ${s.counters?.llm_calls ? `<a id="transcript-link" class="button" href="/ui/runs/${esc(run.id)}/transcript">LLM transcript</a> ` : ""}
        ${logged ? `<a id="events-link" class="button" href="/ui/runs/${esc(run.id)}/events">Event table</a> ` : ""}
        <a href="#" data-download="/runs/${esc(run.id)}" data-name="run-${esc(run.id)}.json">JSON</a>
        ${logged ? "" : `<span class="muted" id="no-events">· no event log (the run had <code>record_events: false</code> or has logged nothing yet)</span>`}</p>
    </div>
    <div class="cols"><section><h2>Theory beside simulation</h2>${metrics.welfare}</section>
      <section><h2>Welfare over time</h2><div id="series">${logged && Object.keys(run.metrics || {}).length ? `<div class="placeholder">reading the event log…</div>` : `<p class="muted">${logged ? "Drawn when the run has finished." : "No event log to draw it from."}</p>`}</div></section></div>
    <section><h2>Plots</h2><div id="plots">${plotsSection(run.id, plots)}</div></section>
    <section><h2>Metrics</h2><div id="metrics">${metrics.details}</div></section>
    <section><h2>Parameters</h2>${parametersSection(details)}</section>
    <section><h2>Scenario</h2><pre id="scenario-yaml">${esc(run.scenario_text || "")}</pre></section>`;
  wireImages(main());
  wirePayoffPages(run.metrics?.payoffs || {});
  if (logged && Object.keys(run.metrics || {}).length) drawSeries(run);
  document.getElementById("cancel")?.addEventListener("click", async () => {
    try { await request(`/runs/${encodeURIComponent(run.id)}`, { method: "DELETE" }); } catch (e) { alert(e.message); }
  });
  ready("run");
  if (ACTIVE.has(run.status) && !runState.stream) {
    if (runState.streamFailed) setTimeout(() => renderRun(id).catch(showError), 1000); // no stream: poll
    else follow(run.id);
  }
}

function follow(id) {
  // Live progress: GET /runs/{id}/stream; re-draw the page with its metrics and plots at the end.
  const controller = new AbortController();
  runState.stream = controller;
  document.body.dataset.stream = "open";
  window.agoraProgress = [];
  const onMessage = (name, data) => {
    if (name === "progress") {
      const pct = Math.round(100 * data.progress);
      window.agoraProgress.push(data.progress);
      const bar = document.getElementById("progress");
      if (bar) bar.value = pct;
      const text = document.getElementById("progress-text");
      if (text) text.textContent = `${pct}%`;
      const status = document.getElementById("progress-status");
      if (status) status.textContent = data.status;
    } else if (name === "end") {
      window.agoraProgress.push(data.progress);
    }
  };
  // Progress only (?after= past any event): a big run logs far more events than a page should pull live.
  sse(`/runs/${encodeURIComponent(id)}/stream?after=${NO_EVENTS}`, onMessage, controller.signal)
    .then(() => 0, (error) => {
      if (error.name !== "AbortError") console.warn("stream:", error);
      runState.streamFailed = true;
      return 0;
    })
    .then((delay) => {
      runState.stream = null;
      document.body.dataset.stream = "ended";
      setTimeout(() => renderRun(id).catch(showError), delay);
    });
}

// ---------------------------------------------------------------- marketplace conversations

async function allEvents(id, cap = 200000) {
  const events = [];
  let after = -1;
  for (;;) {
    const page = await api.json(`/runs/${encodeURIComponent(id)}/events?after=${after}&limit=5000`);
    events.push(...page.items);
    if (page.next_after === null || page.next_after === undefined || events.length >= cap) return events;
    after = page.next_after;
  }
}

function conversations(events, market) {
  // Per customer, in log order: searches, messages both ways (text from the sender's logged action),
  // proposals (items and total), payments, rejections, finish.
  const customers = new Map();
  const convo = (cid) => {
    if (!customers.has(cid)) customers.set(cid, { id: cid, entries: [], proposals: new Map(), paid: [] });
    return customers.get(cid);
  };
  for (const c of market?.customers || []) convo(c.id);
  const isCustomer = (id) => customers.has(id) || /^customer/.test(id || "");
  // agent -> the send_message actions of its current decision (one reply may carry several: "actions": [...])
  const pendingSend = new Map();
  const takeSend = (agent, to) => {
    const list = pendingSend.get(agent) || [];
    const at = list.findIndex((a) => a.to === to);
    return at < 0 ? null : list.splice(at, 1)[0];
  };
  for (const e of events) {
    const d = e.data || {};
    if (e.kind === "action") {
      const actions = Array.isArray(d.actions) ? d.actions : d.action ? [d.action] : [];
      pendingSend.set(e.agent, actions.filter((a) => a?.kind === "send_message"));
    } else if (e.kind === "search" && isCustomer(e.agent)) {
      convo(e.agent).entries.push({ type: "search", t: e.t, seq: e.seq, query: d.query, page: d.page, results: d.results || [] });
    } else if (e.kind === "message") {
      const action = takeSend(e.agent, d.to);
      const message = action?.message || {};
      const kind = d.message_kind || message.kind;
      if (kind === "payment" && isCustomer(e.agent)) continue; // shown by its payment event (logged just before)
      // Newer logs carry the items (and perhaps the text) on the message event itself; older ones only in the action.
      const entry = { type: kind, t: e.t, seq: e.seq, id: d.id, from: e.agent, to: d.to, text: d.text ?? message.text ?? "",
        proposal_id: d.proposal_id, total: d.total, items: d.items || message.items || [] };
      if (isCustomer(e.agent)) { entry.dir = "out"; convo(e.agent).entries.push(entry); }
      if (isCustomer(d.to)) {
        entry.dir = "in";
        const c = convo(d.to);
        c.entries.push(entry);
        if (kind === "order_proposal" && d.proposal_id) c.proposals.set(d.proposal_id, entry);
      }
    } else if (e.kind === "payment" && isCustomer(e.agent)) {
      const c = convo(e.agent);
      const action = (pendingSend.get(e.agent) || []).find((a) => a.message?.kind === "payment" && a.to === d.business);
      const text = action ? action.message.text || "" : "";
      c.entries.push({ type: "paid", t: e.t, seq: e.seq, business: d.business, proposal_id: d.proposal_id, amount: d.amount, text });
      c.paid.push(d.proposal_id);
      if (typeof d.needs_met === "boolean") (c.needsMet ||= new Map()).set(d.proposal_id, d.needs_met); // the world's own verdict
    } else if (e.kind === "rejected" && isCustomer(e.agent)) {
      pendingSend.delete(e.agent);
      convo(e.agent).entries.push({ type: "rejected", t: e.t, seq: e.seq, reason: d.reason, action: d.action });
    } else if (e.kind === "finish" && isCustomer(e.agent)) {
      convo(e.agent).entries.push({ type: "finish", t: e.t, seq: e.seq });
    } else if (e.kind === "rejected") {
      pendingSend.delete(e.agent);
    }
  }
  return customers;
}

function outcome(c, customer, businesses) {
  // The world's verdict where the payment event carries it (needs_met); for older logs the rule the world
  // had then (a paid proposal lists every requested item and its business has every required amenity).
  if (!c.paid.length) return { paid: false, met: false, reasons: ["no proposal was paid"] };
  const checks = c.paid.map((pid) => {
    const proposal = c.proposals.get(pid);
    const reasons = [];
    const offered = new Set((proposal?.items || []).map((i) => i.name));
    const missing = customer ? Object.keys(customer.items).filter((name) => !offered.has(name)) : [];
    if (missing.length) reasons.push(`missing item${missing.length > 1 ? "s" : ""}: ${missing.join(", ")}`);
    const business = businesses.get(proposal?.from);
    const lacking = business && customer ? customer.amenities.filter((a) => !business.amenities.includes(a)) : [];
    if (lacking.length) reasons.push(`business lacks: ${lacking.join(", ")}`);
    if (c.needsMet?.has(pid)) {
      const met = c.needsMet.get(pid);
      return { pid, met, reasons: met ? [] : reasons.length ? reasons : ["the world judged the order short of the request"] };
    }
    if (!customer) return { pid, met: null, reasons: ["the customer's request is unknown"] };
    return { pid, met: !reasons.length, reasons };
  });
  const good = checks.find((x) => x.met);
  return { paid: true, met: good ? true : checks.some((x) => x.met === null) ? null : false, reasons: good ? [] : checks.flatMap((x) => x.reasons) };
}

async function renderConversations(id, customerId) {
  const [run, events, market] = await Promise.all([
    api.json(`/runs/${encodeURIComponent(id)}`),
    allEvents(id),
    api.json(`/ui/api/runs/${encodeURIComponent(id)}/market`).catch((error) => ({ error })),
  ]);
  setTitle(`Conversations of run ${run.id}`);
  const known = market && !market.error;
  const businesses = new Map((known ? market.businesses : []).map((b) => [b.id, b]));
  const people = new Map((known ? market.customers : []).map((c) => [c.id, c]));
  const name = (bid) => businesses.get(bid)?.name || bid;
  const convos = conversations(events, known ? market : null);
  const ids = [...convos.keys()];
  const selected = customerId && convos.has(customerId) ? customerId : ids[0];
  const listItems = ids.map((cid) => {
    const c = convos.get(cid);
    const o = outcome(c, people.get(cid), businesses);
    const mark = !o.paid ? `<span class="badge status-cancelled">no purchase</span>` : o.met ? `<span class="badge status-finished">needs met</span>`
      : o.met === null ? `<span class="badge">paid</span>` : `<span class="badge status-failed">needs not met</span>`;
    return `<li${cid === selected ? ` class="selected"` : ""}><a href="/ui/runs/${esc(run.id)}/conversations/${esc(cid)}">${esc(people.get(cid)?.name || cid)}</a>
      <span class="muted">${esc(cid)}</span> ${mark}</li>`;
  }).join("");
  let body = `<p class="muted">No customers in this run's event log.</p>`;
  if (selected) {
    const c = convos.get(selected);
    const person = people.get(selected);
    const o = outcome(c, person, businesses);
    const payoff = run.metrics?.payoffs?.[selected];
    const request = person ? `<p class="request">“${esc(person.request)}”</p>
      <p id="wants">Wants: ${Object.entries(person.items).map(([item, wtp]) => `<span class="chip">${esc(item)} <span class="muted">willing to pay up to ${esc(num(wtp))}</span></span>`).join(" ")}
      ${person.amenities.length ? `· needs: ${person.amenities.map((a) => `<span class="chip">${esc(a)}</span>`).join(" ")}` : ""}</p>` : "";
    const verdict = !o.paid ? `<p class="verdict none" id="verdict">Did not buy.</p>`
      : o.met ? `<p class="verdict met" id="verdict">Paid ${esc(c.paid.map((pid) => name(c.proposals.get(pid)?.from)).join(", "))} — needs met ✓</p>`
      : `<p class="verdict unmet" id="verdict">Paid ${esc(c.paid.map((pid) => name(c.proposals.get(pid)?.from)).join(", "))} — needs ${o.met === null ? "unknown" : "not met ✗"}${o.reasons.length ? ": " + esc(o.reasons.join("; ")) : ""}</p>`;
    const paidSet = new Set(c.paid);
    const entries = c.entries.map((e) => {
      const t = `<span class="t">t=${esc(num(e.t))}</span>`;
      if (e.type === "search") {
        return `<li class="entry search">${t}<b>Search</b> “${esc(e.query)}”${e.page > 1 ? ` (page ${esc(e.page)})` : ""} →
          ${e.results.length ? e.results.map((b) => `<span class="chip">${esc(name(b))}</span>`).join(" ") : `<span class="muted">no results</span>`}</li>`;
      }
      if (e.type === "paid") {
        return `<li class="entry payment">${t}<b>Payment</b> of ${esc(num(e.amount))} to ${esc(name(e.business))} for <code>${esc(e.proposal_id)}</code>${e.text ? `<p class="said">${esc(e.text)}</p>` : ""}</li>`;
      }
      if (e.type === "rejected") return `<li class="entry rejected">${t}<b>Rejected</b> ${esc(e.action || "")}: ${esc(e.reason)}</li>`;
      if (e.type === "finish") return `<li class="entry finish">${t}<b>Finished shopping</b></li>`;
      const who = e.dir === "out" ? `to ${esc(name(e.to))}` : `from ${esc(name(e.from))}`;
      if (e.type === "order_proposal") {
        const paid = paidSet.has(e.proposal_id);
        return `<li class="entry proposal ${e.dir}${paid ? " paid" : ""}" data-proposal="${esc(e.proposal_id)}">${t}<b>Proposal</b> ${who}
          <code>${esc(e.proposal_id)}</code>${paid ? ` <span class="badge status-finished">PAID</span>` : ""}
          <table class="items">${e.items.map((i) => `<tr><td>${esc(i.name)}</td><td class="num">${esc(i.quantity)} × ${esc(num(i.unit_price))}</td></tr>`).join("")}
          <tr class="total"><td>total</td><td class="num">${esc(num(e.total))}</td></tr></table>${e.text ? `<p class="said">${esc(e.text)}</p>` : ""}</li>`;
      }
      if (e.type === "payment") {
        return `<li class="entry message ${e.dir}">${t}<b>Payment message</b> ${who} for <code>${esc(e.proposal_id)}</code> (${esc(num(e.total))})${e.text ? `<p class="said">${esc(e.text)}</p>` : ""}</li>`;
      }
      return `<li class="entry message ${e.dir}">${t}<b>Message</b> ${who}<p class="said">${esc(e.text || "(text not logged)")}</p></li>`;
    }).join("");
    body = `<h2>${esc(person?.name || selected)} <span class="muted">${esc(selected)}</span></h2>${request}${verdict}
      ${payoff !== undefined ? `<p class="muted">Customer utility in this run: ${esc(num(payoff))}</p>` : ""}
      <ol class="timeline" id="timeline">${entries || `<li class="muted">Nothing happened.</li>`}</ol>`;
  }
  main().innerHTML = `<h1>Conversations <span class="muted">run <a href="/ui/runs/${esc(run.id)}">${esc(run.id)}</a> · ${esc(run.scenario_name)}</span> ${badge(run.status)}</h1>
    <p><a id="business-side" href="/ui/runs/${esc(run.id)}/businesses">business side</a> (what each business received and proposed)</p>
    ${known ? "" : `<p class="field-error">Business and customer names are unavailable: ${esc(market?.error?.message || "")}</p>`}
    ${events.length >= 200000 ? `<p class="muted">Only the first 200,000 events are read.</p>` : ""}
    <div class="convo"><ul class="customers" id="customers">${listItems}</ul><div class="thread">${body}</div></div>`;
  ready("conversation");
}

// ---------------------------------------------------------------- LLM transcripts

function llmFacts(c) {
  if (!c.llm_decisions) return "";
  const own = c.llm_decisions - (c.llm_failed || 0);
  const kinds = Object.keys(c).filter((k) => k.startsWith("llm_failed_") && c[k]).map((k) => `${k.slice(11)} ${c[k]}`);
  return `<dt>LLM decisions</dt><dd id="llm-own">${esc(num(own))} of ${esc(num(c.llm_decisions))} the model's own</dd>
    <dt>LLM failures</dt><dd id="llm-failures">${esc(kinds.join(", ") || "none")}</dd>
    <dt>LLM tokens</dt><dd>${esc(num((c.llm_prompt_tokens || 0) + (c.llm_completion_tokens || 0)))}</dd>`;
}

async function transcriptOf(id, agent, cap = 5000) {
  const rows = [];
  let after = -1;
  let agents = {};
  for (;;) {
    const page = await api.json(`/runs/${encodeURIComponent(id)}/transcript?agent=${encodeURIComponent(agent)}&after=${after}&limit=1000`);
    agents = page.agents;
    rows.push(...page.items);
    if (page.next_after === null || page.next_after === undefined || rows.length >= cap) return { rows, agents };
    after = page.next_after;
  }
}

function exchangeEntry(x) {
  const head = [`t=${num(x.t)}`, `decision ${x.decision}${x.attempt ? " · re-ask" : ""}`, `${num(x.prompt_tokens)} + ${num(x.completion_tokens)} tokens`,
    `${num(x.latency_ms)} ms`, x.attempts > 1 ? `${x.attempts - 1} retries` : "", x.cached ? "from cache" : "", `seed ${x.sampling_seed ?? "–"}`]
    .filter(Boolean).map((part) => `<span class="t">${esc(part)}</span>`).join("");
  const messages = (x.messages || []).map((m) => `<div class="msg"><b>${esc(m.role)}</b><pre>${esc(m.content)}</pre></div>`).join("");
  const verdict = x.error
    ? `<p class="exchange-error"><span class="badge status-failed">${esc(x.error_kind || "error")}</span> ${esc(x.error)}</p>`
    : `<p>Action: <code>${esc(JSON.stringify(x.action))}</code></p>`;
  const retries = (x.retry_errors || []).map((e) => `<li>${esc(e)}</li>`).join("");
  return `<li class="entry exchange${x.error ? " rejected" : ""}" data-seq="${esc(x.seq)}">${head}
    <details><summary>${esc((x.messages || []).length)} messages sent</summary>${messages}</details>
    ${retries ? `<ul class="retries">${retries}</ul>` : ""}
    <div class="msg"><b>reply</b><pre class="reply">${esc(x.reply ?? "(no reply)")}</pre></div>${verdict}</li>`;
}

async function renderTranscript(id, agentId) {
  const run = await api.json(`/runs/${encodeURIComponent(id)}`);
  const first = await api.json(`/runs/${encodeURIComponent(id)}/transcript?limit=1`);
  const names = Object.keys(first.agents);
  const selected = agentId && first.agents[agentId] !== undefined ? agentId : names[0];
  const { rows } = selected ? await transcriptOf(id, selected) : { rows: [] };
  setTitle(`Transcript of run ${run.id}`);
  const list = names.map((a) => `<li${a === selected ? ` class="selected"` : ""}><a href="/ui/runs/${esc(run.id)}/transcript/${encodeURIComponent(a)}">${esc(a)}</a>
    <span class="muted">${esc(num(first.agents[a]))} exchanges</span></li>`).join("");
  const body = selected
    ? `<h2>${esc(selected)} <span class="muted">${esc(num(rows.length))} exchanges</span></h2>
       ${rows.length >= 5000 ? `<p class="muted">Only the first 5,000 exchanges are shown; all are at /runs/${esc(run.id)}/transcript.</p>` : ""}
       <ol class="timeline" id="exchanges">${rows.map(exchangeEntry).join("")}</ol>`
    : `<p class="muted">This run stored no LLM exchanges.</p>`;
  main().innerHTML = `<h1>LLM transcript <span class="muted">run <a href="/ui/runs/${esc(run.id)}">${esc(run.id)}</a> · ${esc(run.scenario_name)}</span> ${badge(run.status)}</h1>
    <div class="convo"><ul class="customers" id="agents">${list}</ul><div class="thread">${body}</div></div>`;
  ready("transcript");
}

// ---------------------------------------------------------------- sweeps

function cell(v) {
  // Integers as written (seeds exceed 2**53); other numbers rounded for reading.
  if (/^-?\d+$/.test(v)) return `<td class="num">${esc(v)}</td>`;
  if (v !== "" && !Number.isNaN(Number(v))) return `<td class="num">${esc(num(Number(v)))}</td>`;
  return `<td>${esc(v)}</td>`;
}

function parseCsv(text) {
  const rows = [];
  let row = [], field = "", quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') { field += '"'; i++; }
      else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") { row.push(field); field = ""; }
    else if (ch === "\n") { row.push(field); rows.push(row); row = []; field = ""; }
    else if (ch !== "\r") field += ch;
  }
  if (field || row.length) { row.push(field); rows.push(row); }
  return rows;
}

function gridTable(spec) {
  // The sweep: block as rows (field, values) instead of one JSON line.
  const rows = [];
  for (const [path, values] of Object.entries(spec.grid || {})) rows.push(["grid", path, values.map((v) => short(v, 60)).join(" · ")]);
  (spec.list || spec.cases || []).forEach((point, i) => rows.push([`point ${i + 1}`, Object.keys(point).join(", "), short(point, 200)]));
  for (const [path, dist] of Object.entries(spec.random?.params || {})) rows.push(["random", path, short(dist, 120)]);
  if (spec.random) rows.push(["random", "points", String(spec.random.points ?? spec.random.n ?? "")]);
  rows.push(["", "seeds per point", String(spec.seeds ?? 1)]);
  return `<table class="grid" id="sweep-grid-spec"><thead><tr><th>how</th><th>field</th><th>values</th></tr></thead><tbody>${rows.map(([how, path, values]) =>
    `<tr><td class="muted">${esc(how)}</td><td><code>${esc(path)}</code></td><td>${esc(values)}</td></tr>`).join("")}</tbody></table>`;
}

function lightbox(src, caption) {
  const box = document.createElement("div");
  box.className = "modal lightbox";
  box.id = "lightbox";
  box.innerHTML = `<figure class="card"><img src="${esc(src)}" alt="${esc(caption)}"><figcaption>${esc(caption)} · <button type="button" class="link" id="lightbox-close">close</button></figcaption></figure>`;
  const close = () => { box.remove(); document.removeEventListener("keydown", onKey); };
  const onKey = (event) => { if (event.key === "Escape") close(); };
  box.addEventListener("click", (event) => { if (event.target === box || event.target.id === "lightbox-close") close(); });
  document.addEventListener("keydown", onKey);
  document.body.appendChild(box);
}

async function renderSweep(id) {
  const enc = encodeURIComponent(id);
  const [sweep, plots, csv] = await Promise.all([
    api.json(`/sweeps/${enc}`),
    api.json(`/sweeps/${enc}/plots`).catch(() => ({ items: [] })),
    api.text(`/sweeps/${enc}/table.csv`).catch(() => ""),
  ]);
  setTitle(`Sweep ${sweep.id}`);
  const rows = parseCsv(csv);
  const header = rows[0] || [];
  const body = rows.slice(1, 1001);
  const runCol = header.findIndex((h) => h === "run_id" || h === "id");
  const tidy = (v, i) => {
    if (i === runCol) return `<td><a href="/ui/runs/${esc(v)}">${esc(v)}</a></td>`;
    if (/^[[{]/.test(v) && v.length > 40) return `<td title="${esc(v)}"><code>${esc(short(v, 40))}</code></td>`; // JSON cells: one line, whole on hover
    return cell(v);
  };
  const table = header.length ? `<div class="scroll-box tidy" id="sweep-table-box"><table class="grid" id="sweep-table"><thead><tr>${header.map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead>
      <tbody>${body.map((r) => `<tr>${r.map(tidy).join("")}</tr>`).join("")}</tbody></table></div>
      ${rows.length - 1 > body.length ? `<p class="muted">First ${body.length} of ${rows.length - 1} rows; download the CSV for all.</p>` : ""}`
    : `<p class="muted">No finished cells yet.</p>`;
  const csvHref = csv ? URL.createObjectURL(new Blob([csv], { type: "text/csv" })) : null;
  main().innerHTML = `<h1>${esc(sweep.scenario_name)} <span class="muted">sweep ${esc(sweep.id)}</span> ${badge(sweep.status)}</h1>
    <div class="card"><div class="progress-row"><progress id="sweep-progress" max="100" value="${Math.round(100 * sweep.progress)}"></progress>
      <span id="sweep-done">${esc(sweep.done)} / ${esc(sweep.n_cells)} cells</span></div>
      <dl class="facts"><dt>World</dt><dd>${esc(sweep.world)}</dd><dt>Started</dt><dd>${esc(when(sweep.created_at))}</dd>
      <dt>Finished</dt><dd>${esc(when(sweep.finished_at))}</dd><dt>Runs</dt><dd>${esc(Object.entries(sweep.runs).map(([k, v]) => `${v} ${k}`).join(", "))}</dd></dl>
      ${sweep.error ? `<p class="field-error">${esc(sweep.error)}</p>` : ""}
      <h3>Grid</h3>${gridTable(sweep.spec || {})}
      <p><a href="/?include_sweep_cells=true&scenario=${encodeURIComponent(sweep.scenario_name)}">its runs in the run list</a></p></div>
    <section><h2>Figures <span class="muted">click one to open it full size</span></h2><div class="plots wide">${plots.items.map((name) => `<figure><img class="plot" data-plot="${esc(name)}" alt="${esc(name)}"
      data-src="/sweeps/${enc}/plots/${esc(name)}.png"><figcaption>${esc(name)} ·
      <a href="#" data-download="/sweeps/${enc}/plots/${esc(name)}.svg" data-name="${esc(sweep.id)}-${esc(name)}.svg">SVG</a> ·
      <a href="#" data-download="/sweeps/${enc}/plots/${esc(name)}.csv" data-name="${esc(sweep.id)}-${esc(name)}.csv">CSV</a></figcaption></figure>`).join("") || `<p class="muted">No figures yet.</p>`}</div></section>
    <section><h2>Tidy table ${csvHref ? `<a id="csv-download" class="button" href="${csvHref}" download="sweep-${esc(sweep.id)}.csv">Download CSV</a>
      <a id="parquet-download" class="button" href="#" data-download="/sweeps/${enc}/table.parquet" data-name="sweep-${esc(sweep.id)}.parquet">Download Parquet</a>` : ""}</h2>
      <p class="field-error" id="download-error"></p>${table}</section>`;
  wireImages(main());
  for (const img of main().querySelectorAll(".plots img")) {
    img.addEventListener("click", () => { if (img.src) lightbox(img.src, img.alt); });
  }
  ready("sweep");
  if (sweep.status === "running") setTimeout(() => renderSweep(id).catch(showError), 3000);
}

// ---------------------------------------------------------------- the new-run form

function fieldFor(error, overrides) {
  const path = error.path || "";
  if (/^body\.seed/.test(path) || path === "seed") return "seed";
  if (/^body\.file/.test(path)) return "scenario";
  if (/^body\.overrides/.test(path) || error.file === "--set") return "overrides";
  if (overrides.some(([key]) => key && (path === key || path.startsWith(key + ".") || key.startsWith(path + ".")))) return "overrides";
  return overrides.length ? "overrides" : "form";
}

async function renderNew() {
  setTitle("New run");
  const scenarios = await api.json("/scenarios");
  const chosen = new URL(location.href).searchParams.get("scenario");
  main().innerHTML = `<h1>Start a run</h1>
    <form id="new-run" class="card form" novalidate>
      <div class="field"><label for="scenario">Scenario</label>
        <select id="scenario" name="scenario">${scenarios.map((s) => `<option value="${esc(s.name)}"${s.name === chosen ? " selected" : ""}${s.valid ? "" : " disabled"}>
          ${esc(s.name)} — ${esc(s.world || "?")}${s.valid ? "" : " (invalid)"}</option>`).join("")}</select>
        <p class="hint" id="scenario-description"></p>
        <p class="field-error" id="scenario-error" role="alert"></p></div>
      <div class="field"><label for="seed">Seed</label>
        <input id="seed" name="seed" type="number" min="0" step="1" placeholder="the scenario's seed">
        <p class="field-error" id="seed-error" role="alert"></p></div>
      <div class="field"><label for="overrides">Overrides <span class="muted">(one <code>field=value</code> per line, as <code>agora run --set</code>)</span></label>
        <textarea id="overrides" name="overrides" rows="4" placeholder="world.rounds=20"></textarea>
        <p class="field-error" id="overrides-error" role="alert"></p></div>
      <p class="field-error" id="form-error" role="alert"></p>
      <button type="submit" id="start">Start run</button>
    </form>
    <section><h2>Scenario file</h2><pre id="scenario-text" class="muted">…</pre></section>`;
  const form = document.getElementById("new-run");
  const select = form.querySelector("#scenario");
  const describe = async () => {
    const info = scenarios.find((s) => s.name === select.value);
    document.getElementById("scenario-description").textContent = info?.description || "";
    try { document.getElementById("scenario-text").textContent = (await api.json(`/scenarios/${encodeURIComponent(select.value)}`)).text; }
    catch (_) { document.getElementById("scenario-text").textContent = ""; }
  };
  select.addEventListener("change", describe);
  describe();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    for (const node of form.querySelectorAll(".field-error")) node.textContent = "";
    for (const node of form.querySelectorAll(".invalid")) node.classList.remove("invalid");
    const lines = form.querySelector("#overrides").value.split("\n").map((l) => l.trim()).filter(Boolean);
    const seedText = form.querySelector("#seed").value.trim();
    const body = { file: select.value, overrides: lines };
    if (seedText !== "") body.seed = /^-?\d+$/.test(seedText) ? Number(seedText) : seedText;
    const button = form.querySelector("#start");
    button.disabled = true;
    try {
      const run = await api.post("/runs", body);
      location.href = `/ui/runs/${encodeURIComponent(run.id)}`;
    } catch (error) {
      button.disabled = false;
      const problem = error.problem || { detail: String(error) };
      const parsed = lines.map((l) => [l.split("=")[0].trim(), l]);
      const byField = {};
      for (const e of problem.errors || []) {
        const field = fieldFor(e, parsed);
        const where = e.path && !/^body\./.test(e.path) ? `${e.path}: ` : "";
        (byField[field] ||= []).push(`${where}${e.message}`);
      }
      if (!problem.errors?.length) byField.form = [problem.detail];
      for (const [field, messages] of Object.entries(byField)) {
        const node = document.getElementById(`${field}-error`);
        node.textContent = messages.join("; ");
        form.querySelector(`#${field}`)?.classList.add("invalid");
      }
      if (!byField.form && problem.title) document.getElementById("form-error").textContent = `${problem.title} (HTTP ${problem.status})`;
      ready("new-error");
    }
  });
  ready("new");
}

// ---------------------------------------------------------------- the event table of a run

const EVENT_PAGE = 100;

function eventQuery(filters) {
  const params = new URLSearchParams();
  for (const kind of filters.kind) params.append("kind", kind);
  for (const agent of filters.agent) params.append("agent", agent);
  if (filters.t_min !== "") params.set("t_min", filters.t_min);
  if (filters.t_max !== "") params.set("t_max", filters.t_max);
  return params;
}

async function renderEvents(id) {
  const url = new URL(location.href);
  const split = (name) => url.searchParams.getAll(name).flatMap((v) => v.split(",")).map((v) => v.trim()).filter(Boolean);
  const filters = { kind: split("kind"), agent: split("agent"), t_min: url.searchParams.get("t_min") || "", t_max: url.searchParams.get("t_max") || "" };
  const after = Number(url.searchParams.get("after") || -1);
  const back = (url.searchParams.get("back") || "").split(".").filter(Boolean);
  const enc = encodeURIComponent(id);
  const query = eventQuery(filters);
  const pageQuery = new URLSearchParams(query);
  pageQuery.set("after", String(after));
  pageQuery.set("limit", String(EVENT_PAGE));
  pageQuery.set("count", "true");
  const [run, summary, page] = await Promise.all([
    api.json(`/runs/${enc}`), api.json(`/runs/${enc}/events/summary`), api.json(`/runs/${enc}/events?${pageQuery}`),
  ]);
  setTitle(`Events of run ${run.id}`);
  const link = (changes) => {
    const next = new URL(location.href);
    for (const [k, v] of Object.entries(changes)) {
      if (v === null || v === "") next.searchParams.delete(k); else next.searchParams.set(k, v);
    }
    return next.pathname + next.search;
  };
  const older = page.next_after !== null && page.next_after !== undefined
    ? link({ after: String(page.next_after), back: [...back, String(after)].join(".") }) : null;
  const newer = back.length ? link({ after: back[back.length - 1] === "-1" ? null : back[back.length - 1], back: back.slice(0, -1).join(".") || null }) : null;
  const rows = page.items.map((e) => `<tr data-seq="${esc(e.seq)}"><td class="num">${esc(e.seq)}</td><td class="num">${esc(num(e.t))}</td>
      <td class="agent">${esc(e.agent || "")}</td><td class="kind">${esc(e.kind)}</td><td><code class="data" title="${esc(JSON.stringify(e.data))}">${esc(short(e.data, 220))}</code></td></tr>`).join("");
  const csvPath = `/runs/${enc}/events.csv${query.toString() ? `?${query}` : ""}`;
  const first = page.items.length ? page.items[0].seq : null;
  main().innerHTML = `<h1>Event log <span class="muted">run <a href="/ui/runs/${esc(run.id)}">${esc(run.id)}</a> · ${esc(run.scenario_name)}</span> ${badge(run.status)}</h1>
    <p class="muted">${esc(num(summary.events))} events from ${esc(num(summary.agents))} agents, t = ${esc(num(summary.t_min))} … ${esc(num(summary.t_max))}</p>
    <form id="event-filters" class="filters">
      <label>Kind <select name="kind" multiple size="${Math.min(6, Math.max(2, Object.keys(summary.kinds).length))}">${Object.entries(summary.kinds).map(([k, n]) =>
        `<option value="${esc(k)}"${filters.kind.includes(k) ? " selected" : ""}>${esc(k)} (${esc(num(n))})</option>`).join("")}</select></label>
      <label>Agent(s) <input name="agent" id="agent-filter" value="${esc(filters.agent.join(", "))}" size="22" placeholder="ids, comma-separated"></label>
      <label>t from <input name="t_min" type="number" step="any" value="${esc(filters.t_min)}" size="8"></label>
      <label>t to <input name="t_max" type="number" step="any" value="${esc(filters.t_max)}" size="8"></label>
      <button type="submit" id="apply-filters">Filter</button> <a href="/ui/runs/${esc(run.id)}/events">clear</a>
      <a class="button" id="events-csv" href="${esc(csvPath)}" download="run-${esc(run.id)}-events.csv">Download CSV</a>
    </form>
    <p id="matched">${esc(num(page.matched))} matching event${page.matched === 1 ? "" : "s"}${first !== null ? `; showing seq ${esc(first)} onwards` : ""}</p>
    <div class="scroll-box"><table class="grid" id="events" data-rows="${page.items.length}"><thead><tr><th class="num">seq</th><th class="num">t</th><th>agent</th><th>kind</th><th>data</th></tr></thead>
      <tbody>${rows || `<tr><td colspan="5" class="muted">No events match.</td></tr>`}</tbody></table></div>
    <nav class="pager">${newer ? `<a id="events-newer" href="${esc(newer)}">← earlier</a>` : ""}${older ? `<a id="events-older" href="${esc(older)}">later →</a>` : ""}</nav>`;
  document.getElementById("event-filters").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.target;
    const params = eventQuery({
      kind: [...form.querySelector("select[name=kind]").selectedOptions].map((o) => o.value),
      agent: form.agent.value.split(",").map((v) => v.trim()).filter(Boolean), t_min: form.t_min.value.trim(), t_max: form.t_max.value.trim(),
    });
    location.href = `/ui/runs/${enc}/events${params.toString() ? `?${params}` : ""}`;
  });
  const csv = document.getElementById("events-csv");
  csv.addEventListener("click", async (event) => {
    // Without an API key the link downloads as it streams; with one, the bearer header needs a fetch.
    if (!storedKey()) return;
    event.preventDefault();
    const href = URL.createObjectURL(await api.blob(csvPath));
    const tmp = Object.assign(document.createElement("a"), { href, download: csv.getAttribute("download") });
    document.body.appendChild(tmp);
    tmp.click();
    tmp.remove();
  });
  ready("events");
}

// ---------------------------------------------------------------- comparing runs

async function renderCompare() {
  const url = new URL(location.href);
  const ids = url.searchParams.getAll("ids").flatMap((v) => v.split(",")).filter(Boolean);
  if (ids.length < 2) {
    main().innerHTML = `<div class="card problem"><h2>Pick two or more runs</h2><p>Tick runs in <a href="/">the run list</a> and press “Compare”.</p></div>`;
    ready("compare");
    return;
  }
  const data = await api.json(`/ui/api/compare?${ids.map((id) => `ids=${encodeURIComponent(id)}`).join("&")}`);
  setTitle(`Compare ${data.runs.length} runs`);
  const showAll = url.searchParams.get("all") === "1";
  const head = `<tr><th>field</th>${data.runs.map((r) => `<th><a href="/ui/runs/${esc(r.id)}">${esc(r.id)}</a><br><span class="muted">${esc(r.scenario_name)}</span></th>`).join("")}</tr>`;
  const cell = (v) => typeof v === "number" ? `<td class="num">${esc(num(v))}</td>` : v === null || v === undefined ? `<td class="muted">–</td>` : `<td><code>${esc(short(v, 80))}</code></td>`;
  const differing = data.parameters.filter((p) => p.differs);
  const params = (showAll ? data.parameters : differing).map((p) => `<tr class="${p.differs ? "differs" : ""}" data-path="${esc(p.path)}"><th><code>${esc(p.path)}</code></th>${p.values.map(cell).join("")}</tr>`).join("");
  const metricRows = data.metrics.map((m) => `<tr data-path="${esc(m.path)}"><th><code>${esc(m.path)}</code></th>${m.values.map(cell).join("")}</tr>`).join("");
  // Theory beside simulation for each run: the run JSON's comparison, else the page's guess (as on the run page).
  const quantities = new Map();
  data.runs.forEach((r, i) => {
    const rows = data.comparison[i]?.length ? data.comparison[i] : guessedComparison(runMetrics(data, i));
    for (const row of rows) {
      if (!quantities.has(row.quantity)) quantities.set(row.quantity, data.runs.map(() => null));
      quantities.get(row.quantity)[i] = row;
    }
  });
  const theoryRows = [...quantities.entries()].map(([q, rows]) => `<tr data-quantity="${esc(q)}"><th>${esc(q)}</th>${rows.map((row) => row
    ? `<td class="num">${esc(num(row.simulated))} <span class="muted">vs ${esc(num(row.theory))}</span> <span class="${row.gap < 0 ? "neg" : "pos"}">(${row.gap >= 0 ? "+" : ""}${esc(num(row.gap))})</span></td>`
    : `<td class="muted">–</td>`).join("")}</tr>`).join("");
  const numeric = data.metrics.filter((m) => m.values.some((v) => typeof v === "number"));
  const chosen = url.searchParams.get("metric") || (numeric.find((m) => m.path === "welfare") || numeric[0])?.path;
  main().innerHTML = `<h1>Compare ${data.runs.length} runs</h1>
    <section><h2>Parameters <span class="muted">${differing.length} differ${showAll ? "" : ` · <a id="show-all" href="${esc(location.pathname + location.search + "&all=1")}">show all ${data.parameters.length}</a>`}</span></h2>
      <div class="scroll-box"><table class="grid compare" id="compare-parameters"><thead>${head}</thead><tbody>${params || `<tr><td class="muted">The runs have the same parameters.</td></tr>`}</tbody></table></div></section>
    <section><h2>Chart</h2><label class="inline">Metric <select id="chart-metric">${numeric.map((m) => `<option${m.path === chosen ? " selected" : ""}>${esc(m.path)}</option>`).join("")}</select></label>
      <div id="compare-chart"></div></section>
    <section><h2>Theory beside simulation <span class="muted">simulated vs theory (gap)</span></h2>
      <div class="scroll-box"><table class="grid compare" id="compare-theory"><thead>${head}</thead><tbody>${theoryRows || `<tr><td class="muted">No pairs.</td></tr>`}</tbody></table></div></section>
    <section><h2>Metrics</h2><div class="scroll-box"><table class="grid compare" id="compare-metrics"><thead>${head}</thead><tbody>${metricRows}</tbody></table></div></section>`;
  const draw = () => {
    const path = document.getElementById("chart-metric").value;
    const metric = data.metrics.find((m) => m.path === path);
    // The theory each run pairs with this very number (its comparison row whose simulated value it is), if any.
    const theory = data.runs.map((r, i) => {
      const v = metric?.values[i];
      if (typeof v !== "number") return null;
      const rows = data.comparison[i]?.length ? data.comparison[i] : guessedComparison(runMetrics(data, i));
      const row = rows.find((x) => typeof x.simulated === "number" && typeof x.theory === "number" && Math.abs(x.simulated - v) <= 1e-9 * Math.max(1, Math.abs(v)));
      return row ? row.theory : null;
    });
    const markers = theory.some((v) => v !== null) ? [{ name: "theory", values: theory }] : [];
    document.getElementById("compare-chart").innerHTML = barChart({ labels: data.runs.map((r) => r.id), values: metric?.values || [], markers, yLabel: path, id: "compare-bars" });
  };
  document.getElementById("chart-metric").addEventListener("change", draw);
  if (numeric.length) draw();
  ready("compare");
}

function runMetrics(data, i) {
  // The compare answer's flattened metrics of run i, back as {welfare, measures, theory} for guessedComparison.
  const out = { measures: {}, theory: {} };
  for (const m of data.metrics) {
    const v = m.values[i];
    if (v === null || v === undefined) continue;
    if (m.path === "welfare") out.welfare = v;
    else if (m.path.startsWith("measures.")) out.measures[m.path.slice(9)] = v;
    else if (m.path.startsWith("theory.")) out.theory[m.path.slice(7)] = v;
  }
  return out;
}

// ---------------------------------------------------------------- the scenario editor

const LINE = 18; // px per line in the editor (style.css: .editor textarea line-height)
const EDITOR_PAD = 6; // px of padding above the first line

function splitTop(text) {
  // The items of a YAML flow list "[a, [b, c], 'd,e']" at its top level (for counting sweep values).
  const inner = text.trim().replace(/^\[/, "").replace(/\]$/, "");
  const items = [];
  let depth = 0, quote = null, current = "";
  for (const ch of inner) {
    if (quote) { if (ch === quote) quote = null; current += ch; continue; }
    if (ch === "'" || ch === '"') quote = ch;
    else if ("[{".includes(ch)) depth++;
    else if ("]}".includes(ch)) depth--;
    if (ch === "," && depth === 0) { items.push(current); current = ""; } else current += ch;
  }
  if (current.trim()) items.push(current);
  return items.map((i) => i.trim()).filter(Boolean);
}

function keyPath(lines, index) {
  // The dotted path of the mapping key on line `index`, from the keys above it with less indentation.
  const keyOf = (line) => /^(\s*)(?:- )?([A-Za-z_][\w.-]*)\s*:/.exec(line);
  const here = keyOf(lines[index] || "");
  if (!here) return null;
  const path = [here[2]];
  let indent = here[1].length;
  for (let i = index - 1; i >= 0 && indent > 0; i--) {
    const m = keyOf(lines[i]);
    if (m && m[1].length < indent && !/^\s*#/.test(lines[i])) { path.unshift(m[2]); indent = m[1].length; }
  }
  return path.join(".");
}

function worldOf(text) {
  const m = /^world:\s*\n(?:[ \t]+.*\n|\s*\n)*?[ \t]+type:\s*([A-Za-z0-9_]+)/m.exec(text + "\n") || /^world:\s*\{[^}]*type:\s*([A-Za-z0-9_]+)/m.exec(text);
  return m ? m[1] : null;
}

async function renderEditor() {
  setTitle("Scenario editor");
  const url = new URL(location.href);
  // GET /scenarios checks every shipped file (seconds on a loaded server): the list fills in when it arrives.
  const worlds = await api.json("/ui/api/worlds");
  const startFrom = url.searchParams.get("from") || (worlds[0] ? `blank:${worlds[0].name}` : "");
  main().innerHTML = `<h1>Scenario editor</h1>
    <div class="filters"><label>Start from <select id="start-from">
        <optgroup label="Blank scenario">${worlds.map((w) => `<option value="blank:${esc(w.name)}">blank ${esc(w.name)}</option>`).join("")}</optgroup>
        <optgroup label="Shipped scenario" id="shipped">${startFrom.startsWith("file:") ? `<option value="${esc(startFrom)}">${esc(startFrom.slice(5))}</option>` : ""}</optgroup>
      </select></label>
      <span id="validity" class="badge">not checked</span> <span class="muted" id="validity-detail"></span></div>
    <div class="editor-grid">
      <div class="editor" id="editor"><pre class="gutter" id="gutter" aria-hidden="true"></pre>
        <textarea id="yaml" wrap="off" spellcheck="false" autocomplete="off" aria-label="scenario YAML"></textarea>
        <div class="marks" id="marks" aria-live="polite"><div class="marks-inner" id="marks-inner"></div></div></div>
      <aside class="card help" id="field-help"><h3>Field help <span class="muted" id="help-world"></span></h3>
        <div id="help-current" class="help-current muted">Put the cursor on a key to see what it means.</div>
        <input id="help-filter" placeholder="filter fields" size="20"><div id="help-list" class="help-list"></div></aside>
    </div>
    <ul id="problems" class="problems"></ul>
    <div class="cols">
      <section class="card"><h2>Run it</h2><label>Seed <input id="editor-seed" type="number" min="0" step="1" placeholder="the scenario's"></label>
        <button type="button" id="run-scenario">Run</button><p class="field-error" id="run-error" role="alert"></p></section>
      <section class="card"><h2>Launch it as a sweep</h2>
        <p class="hint">Each row varies one field (dotted path, e.g. <code>world.rounds</code>) over a YAML list of values; every combination runs once per seed.</p>
        <table class="grid" id="sweep-grid"><thead><tr><th>field</th><th>values</th><th></th></tr></thead><tbody></tbody></table>
        <p><button type="button" class="link" id="add-axis">+ add a field</button></p>
        <label>Seeds per point <input id="sweep-seeds" type="number" min="1" max="1000" value="3"></label>
        <span id="sweep-cells" class="muted"></span>
        <button type="button" id="launch-sweep">Launch sweep</button><p class="field-error" id="sweep-error" role="alert"></p>
        <datalist id="field-paths"></datalist></section>
    </div>`;
  const area = document.getElementById("yaml");
  const gutter = document.getElementById("gutter");
  const marks = document.getElementById("marks-inner");
  let problems = [], schema = null, schemaWorld = null, timer = null, generation = 0;

  const drawGutter = () => {
    const n = area.value.split("\n").length;
    const bad = new Set(problems.filter((p) => p.line).map((p) => p.line));
    gutter.innerHTML = Array.from({ length: n }, (_, i) => `<span${bad.has(i + 1) ? ` class="bad"` : ""}>${i + 1}</span>`).join("\n");
  };
  const drawMarks = () => {
    const byLine = new Map();
    for (const p of problems) if (p.line) (byLine.get(p.line) || byLine.set(p.line, []).get(p.line)).push(p);
    marks.innerHTML = [...byLine.entries()].map(([line, list]) => `<div class="mark" data-line="${line}"
      title="${esc(list.map((p) => `${p.path}: ${p.message}`).join("\n"))}">${esc(list.map((p) => `${p.path ? p.path + ": " : ""}${p.message}`).join("; "))}</div>`).join("");
    // Positioned from script: the page's CSP allows no inline style attributes.
    for (const node of marks.querySelectorAll(".mark")) node.style.top = `${EDITOR_PAD + (Number(node.dataset.line) - 1) * LINE}px`;
    document.getElementById("problems").innerHTML = problems.map((p) => `<li class="${p.warning ? "warning" : "field-error"}">${p.line ? `<a href="#" data-goto="${p.line}">line ${p.line}</a>: ` : ""}${esc(p.path ? p.path + ": " : "")}${esc(p.message)}</li>`).join("");
    drawGutter();
  };
  const syncScroll = () => {
    gutter.scrollTop = area.scrollTop;
    marks.style.transform = `translateY(${-area.scrollTop}px)`;
  };
  const setProblems = (list, warnings = []) => {
    problems = list.map((p) => ({ ...p })).concat(warnings.map((w) => ({ ...w, warning: true })));
    drawMarks();
  };
  const helpFor = async (world) => {
    if (!world || world === schemaWorld) return;
    schemaWorld = world;
    try { schema = await api.json(`/ui/api/worlds/${encodeURIComponent(world)}`); } catch (_) { schema = null; }
    document.getElementById("help-world").textContent = schema ? world : `(${world}: unknown world)`;
    document.getElementById("field-paths").innerHTML = (schema?.fields || []).map((f) => `<option value="world.${esc(f.path)}">`).join("");
    drawHelp();
  };
  const fieldRow = (f) => `<div class="help-field" data-path="${esc(f.path)}"><code>${esc(f.path)}</code> <span class="muted">${esc(f.type)}${f.default !== null && f.default !== undefined ? ` = ${esc(JSON.stringify(f.default))}` : ""}${f.unit ? ` [${esc(f.unit)}]` : ""}</span>
      <div>${esc(f.description || "")}${f.allowed ? ` <span class="muted">allowed: ${esc(f.allowed)}</span>` : ""}</div></div>`;
  const drawHelp = () => {
    const filter = document.getElementById("help-filter").value.trim().toLowerCase();
    const fields = (schema?.fields || []).filter((f) => !filter || f.path.toLowerCase().includes(filter) || (f.description || "").toLowerCase().includes(filter));
    document.getElementById("help-list").innerHTML = fields.map(fieldRow).join("") || `<p class="muted">No field matches.</p>`;
  };
  const helpAtCursor = () => {
    const before = area.value.slice(0, area.selectionStart);
    const index = before.split("\n").length - 1;
    const path = keyPath(area.value.split("\n"), index);
    const box = document.getElementById("help-current");
    if (!path || !schema) return;
    const inWorld = path.startsWith("world.") ? path.slice(6) : null;
    const field = inWorld && schema.fields.find((f) => f.path === inWorld);
    box.innerHTML = field ? fieldRow(field) : `<code>${esc(path)}</code> <span class="muted">${path.startsWith("agents") ? `policies of ${esc(schemaWorld)}: ${esc((schema.policies || []).join(", "))}` : "not a world field"}</span>`;
  };
  const validate = async () => {
    const mine = ++generation;
    const started = performance.now();
    const text = area.value;
    const badge = document.getElementById("validity");
    badge.className = "badge"; badge.textContent = "checking…";
    helpFor(worldOf(text));
    let result;
    try {
      result = await api.post("/scenarios/validate", { scenario: text });
    } catch (error) {
      if (mine !== generation) return;
      result = { valid: false, problems: error.problem?.errors || [{ path: "", message: error.message }] };
    }
    if (mine !== generation) return; // a newer check is under way
    setProblems(result.problems || [], result.warnings || []);
    badge.className = `badge ${result.valid ? "status-finished" : "status-failed"}`;
    badge.textContent = result.valid ? "valid" : `${(result.problems || []).length} problem${(result.problems || []).length === 1 ? "" : "s"}`;
    document.getElementById("validity-detail").textContent = result.valid ? `${result.name} · ${result.world}` : "";
    window.agoraValidateMs = performance.now() - started; // POST + problems drawn, debounce excluded (bench/web.py)
    document.body.dataset.validated = String(generation);
    if (result.world) helpFor(result.world);
  };
  const changed = () => {
    drawGutter();
    clearTimeout(timer);
    timer = setTimeout(validate, 350); // debounced: one check when typing pauses
  };
  const load = async (value) => {
    let text = "";
    if (value.startsWith("blank:")) text = (await api.json(`/ui/api/worlds/${encodeURIComponent(value.slice(6))}`)).blank;
    else if (value.startsWith("file:")) text = (await api.json(`/scenarios/${encodeURIComponent(value.slice(5))}`)).text;
    area.value = text;
    area.scrollTop = 0;
    syncScroll();
    changed();
  };
  area.addEventListener("input", changed);
  area.addEventListener("scroll", syncScroll);
  for (const name of ["keyup", "click"]) area.addEventListener(name, helpAtCursor);
  area.addEventListener("keydown", (event) => {
    if (event.key === "Tab") { // two spaces, as YAML wants
      event.preventDefault();
      area.setRangeText("  ", area.selectionStart, area.selectionEnd, "end");
      changed();
    }
  });
  document.getElementById("help-filter").addEventListener("input", drawHelp);
  document.getElementById("problems").addEventListener("click", (event) => {
    const line = event.target.dataset?.goto;
    if (!line) return;
    event.preventDefault();
    const lines = area.value.split("\n");
    const at = lines.slice(0, Number(line) - 1).join("\n").length + (Number(line) > 1 ? 1 : 0);
    area.focus();
    area.setSelectionRange(at, at + (lines[Number(line) - 1] || "").length);
    area.scrollTop = Math.max(0, (Number(line) - 5) * LINE);
  });
  const select = document.getElementById("start-from");
  select.value = startFrom;
  select.addEventListener("change", () => load(select.value));
  api.json("/scenarios").then((scenarios) => {
    const chosen = select.value;
    document.getElementById("shipped").innerHTML = scenarios.map((s) => `<option value="file:${esc(s.name)}">${esc(s.name)} — ${esc(s.world || "?")}</option>`).join("");
    select.value = chosen;
  }, () => null);

  // Run it: POST /runs with the text; the run page then follows its progress to the end.
  document.getElementById("run-scenario").addEventListener("click", async () => {
    const error = document.getElementById("run-error");
    error.textContent = "";
    const body = { scenario: area.value };
    const seed = document.getElementById("editor-seed").value.trim();
    if (seed) body.seed = Number(seed);
    try {
      const run = await api.post("/runs", body);
      location.href = `/ui/runs/${encodeURIComponent(run.id)}`;
    } catch (e) {
      error.textContent = e.problem?.detail || e.message;
      if (e.problem?.errors) setProblems(e.problem.errors.filter((p) => !/^body\.seed/.test(p.path || "")));
      ready("editor-error");
    }
  });

  // The sweep grid: rows of field + values; seeds; the number of cells as it is typed.
  const grid = document.querySelector("#sweep-grid tbody");
  const addAxis = (path = "", values = "") => {
    const row = document.createElement("tr");
    row.innerHTML = `<td><input class="axis-path" list="field-paths" size="26" placeholder="world.rounds" value="${esc(path)}"></td>
      <td><input class="axis-values" size="26" placeholder="[5, 10, 20]" value="${esc(values)}"></td>
      <td><button type="button" class="link remove-axis" aria-label="remove this field">remove</button></td>`;
    row.querySelector(".remove-axis").addEventListener("click", () => { row.remove(); countCells(); });
    row.addEventListener("input", countCells);
    grid.appendChild(row);
    countCells();
  };
  const axes = () => [...grid.querySelectorAll("tr")].map((row) => [row.querySelector(".axis-path").value.trim(), row.querySelector(".axis-values").value.trim()])
    .filter(([path, values]) => path && values);
  function countCells() {
    const seeds = Math.max(1, Number(document.getElementById("sweep-seeds").value) || 1);
    const points = axes().reduce((n, [, values]) => n * Math.max(1, splitTop(values).length), 1);
    document.getElementById("sweep-cells").textContent = axes().length ? `${points} point${points === 1 ? "" : "s"} × ${seeds} seed${seeds === 1 ? "" : "s"} = ${points * seeds} cells` : "";
  }
  document.getElementById("add-axis").addEventListener("click", () => addAxis());
  document.getElementById("sweep-seeds").addEventListener("input", countCells);
  addAxis();
  document.getElementById("launch-sweep").addEventListener("click", async () => {
    const error = document.getElementById("sweep-error");
    error.textContent = "";
    let text = area.value;
    const rows = axes();
    if (rows.length) {
      if (/^sweep\s*:/m.test(text)) { error.textContent = "the scenario has its own sweep: block; remove it, or empty the grid to launch that one"; return; }
      const seeds = Math.max(1, Number(document.getElementById("sweep-seeds").value) || 1);
      text = `${text.replace(/\s*$/, "")}\nsweep:\n  grid:\n${rows.map(([path, values]) => `    ${JSON.stringify(path)}: ${values.startsWith("[") ? values : `[${values}]`}`).join("\n")}\n  seeds: ${seeds}\n`;
    } else if (!/^sweep\s*:/m.test(text)) { error.textContent = "add a field to vary (or a sweep: block to the scenario)"; return; }
    try {
      const sweep = await api.post("/sweeps", { scenario: text });
      location.href = `/ui/sweeps/${encodeURIComponent(sweep.id)}`;
    } catch (e) {
      const list = e.problem?.errors || [];
      error.textContent = [e.problem?.detail || e.message, ...list.map((p) => `${p.line ? `line ${p.line}: ` : ""}${p.path}: ${p.message}`)].join("\n");
      ready("editor-error");
    }
  });
  await load(startFrom);
  ready("editor");
}

// ---------------------------------------------------------------- marketplace: the business side

async function renderBusinesses(id, businessId) {
  const [run, events, market] = await Promise.all([
    api.json(`/runs/${encodeURIComponent(id)}`), allEvents(id),
    api.json(`/ui/api/runs/${encodeURIComponent(id)}/market`).catch((error) => ({ error })),
  ]);
  setTitle(`Businesses of run ${run.id}`);
  const known = market && !market.error;
  const businesses = new Map((known ? market.businesses : []).map((b) => [b.id, b]));
  const people = new Map((known ? market.customers : []).map((c) => [c.id, c]));
  const convos = conversations(events, known ? market : null);
  // Per business: what customers sent it, what it proposed, what it was paid; from the customers' threads.
  const side = new Map();
  const of = (bid) => side.get(bid) || side.set(bid, { received: 0, proposals: 0, paid: 0, revenue: 0, entries: [] }).get(bid);
  for (const b of businesses.keys()) of(b);
  for (const [cid, c] of convos) {
    const paid = new Set(c.paid);
    for (const e of c.entries) {
      if (e.type === "paid") { const b = of(e.business); b.paid += 1; b.revenue += e.amount || 0; b.entries.push({ ...e, customer: cid }); }
      else if (e.dir === "out" && e.to) { of(e.to).received += 1; of(e.to).entries.push({ ...e, customer: cid, side: "received" }); }
      else if (e.dir === "in" && e.from) {
        const b = of(e.from);
        if (e.type === "order_proposal") b.proposals += 1;
        b.entries.push({ ...e, customer: cid, side: "sent", paid: paid.has(e.proposal_id) });
      }
    }
  }
  const ids = [...side.keys()].sort((a, b) => side.get(b).received - side.get(a).received || a.localeCompare(b));
  const selected = businessId && side.has(businessId) ? businessId : ids.find((b) => side.get(b).entries.length) || ids[0];
  const list = ids.map((bid) => {
    const b = side.get(bid);
    return `<li${bid === selected ? ` class="selected"` : ""}><a href="/ui/runs/${esc(run.id)}/businesses/${encodeURIComponent(bid)}">${esc(businesses.get(bid)?.name || bid)}</a>
      <span class="muted">${esc(b.received)} in · ${esc(b.proposals)} proposals · ${esc(b.paid)} paid</span></li>`;
  }).join("");
  const name = (cid) => people.get(cid)?.name || cid;
  let body = `<p class="muted">No business in this run's event log.</p>`;
  if (selected) {
    const b = side.get(selected);
    const info = businesses.get(selected);
    const rows = b.entries.sort((x, y) => x.seq - y.seq).map((e) => {
      const t = `<span class="t">t=${esc(num(e.t))}</span>`;
      if (e.type === "paid") return `<li class="entry payment">${t}<b>Paid</b> ${esc(num(e.amount))} by ${esc(name(e.customer))} for <code>${esc(e.proposal_id)}</code></li>`;
      if (e.side === "received") return `<li class="entry message in">${t}<b>From</b> ${esc(name(e.customer))}<p class="said">${esc(e.text || "(text not logged)")}</p></li>`;
      if (e.type === "order_proposal") {
        return `<li class="entry proposal out${e.paid ? " paid" : ""}">${t}<b>Proposed</b> to ${esc(name(e.customer))} <code>${esc(e.proposal_id)}</code>${e.paid ? ` <span class="badge status-finished">PAID</span>` : ""}
          <table class="items">${(e.items || []).map((i) => `<tr><td>${esc(i.name)}</td><td class="num">${esc(i.quantity)} × ${esc(num(i.unit_price))}</td></tr>`).join("")}
          <tr class="total"><td>total</td><td class="num">${esc(num(e.total))}</td></tr></table>${e.text ? `<p class="said">${esc(e.text)}</p>` : ""}</li>`;
      }
      return `<li class="entry message out">${t}<b>To</b> ${esc(name(e.customer))}<p class="said">${esc(e.text || "(text not logged)")}</p></li>`;
    }).join("");
    body = `<h2>${esc(info?.name || selected)} <span class="muted">${esc(selected)}</span></h2>
      ${info ? `<p>rating ${esc(num(info.rating))}${info.amenities.length ? ` · ${info.amenities.map((a) => `<span class="chip">${esc(a)}</span>`).join(" ")}` : ""}</p>` : ""}
      <p id="business-totals">${esc(b.received)} messages received · ${esc(b.proposals)} proposals sent · ${esc(b.paid)} paid (${esc(num(b.revenue))})</p>
      <ol class="timeline" id="business-timeline">${rows || `<li class="muted">Nobody wrote to this business.</li>`}</ol>`;
  }
  main().innerHTML = `<h1>Business side <span class="muted">run <a href="/ui/runs/${esc(run.id)}">${esc(run.id)}</a> · ${esc(run.scenario_name)}</span> ${badge(run.status)}</h1>
    <p><a href="/ui/runs/${esc(run.id)}/conversations">customer side</a></p>
    <div class="convo"><ul class="customers" id="businesses">${list}</ul><div class="thread">${body}</div></div>`;
  ready("businesses");
}

// ---------------------------------------------------------------- routing

async function route() {
  window.agoraStartAt = performance.now(); // the page's own work starts here (bench/web.py: ready - start)
  showForget();
  document.getElementById("forget-key")?.addEventListener("click", () => { forgetKey(); location.reload(); });
  const path = location.pathname.replace(/\/+$/, "") || "/";
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  try {
    if (path === "/" || path === "/ui") return await renderList();
    if (parts[1] === "new") return await renderNew();
    if (parts[1] === "edit") return await renderEditor();
    if (parts[1] === "compare") return await renderCompare();
    if (parts[1] === "runs" && parts[2] && parts[3] === "events") return await renderEvents(parts[2]);
    if (parts[1] === "runs" && parts[2] && parts[3] === "businesses") return await renderBusinesses(parts[2], parts[4]);
    if (parts[1] === "runs" && parts[2] && parts[3] === "conversations") return await renderConversations(parts[2], parts[4]);
    if (parts[1] === "runs" && parts[2] && parts[3] === "transcript") return await renderTranscript(parts[2], parts[4]);
    if (parts[1] === "runs" && parts[2]) return await renderRun(parts[2]);
    if (parts[1] === "sweeps" && parts[2]) return await renderSweep(parts[2]);
    main().innerHTML = `<div class="card problem"><h2>No such page</h2><p><a href="/">Back to the runs</a></p></div>`;
    ready("error");
  } catch (error) {
    showError(error);
  }
}

document.addEventListener("DOMContentLoaded", route);
