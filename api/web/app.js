// Agora run browser: plain JavaScript over the REST API, no build step.
// One shell page (index.html); this script reads location.pathname and draws:
//   /                                   runs and sweeps (filters, pages)
//   /ui/new                             start a run from a shipped scenario
//   /ui/runs/{id}                       a run (live progress over SSE, metrics, plots, scenario)
//   /ui/runs/{id}/conversations[/{c}]   a marketplace run, one customer's conversation
//   /ui/runs/{id}/transcript[/{agent}]  an LLM run, one agent's exchanges with the model
//   /ui/sweeps/{id}                     a sweep (figures, tidy table, CSV)
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
  for (const name of ["world", "status", "scenario"]) {
    const value = url.searchParams.get(name);
    if (value) query[name] = value;
  }
  const limit = PAGE_SIZES.includes(Number(url.searchParams.get("limit"))) ? Number(url.searchParams.get("limit")) : 50;
  const cursor = url.searchParams.get("cursor") || "";
  const back = (url.searchParams.get("back") || "").split(".").filter(Boolean);
  setTitle("Runs");
  const [runs, sweeps] = await Promise.all([
    fetchRuns(query, limit, cursor),
    cursor || Object.keys(query).length ? Promise.resolve(null) : api.json("/sweeps?limit=20").catch(() => null),
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
      <button type="submit">Filter</button> <a href="/">clear</a>
      <a class="button" href="/ui/new">New run</a>
    </form>
    <table class="grid" id="runs" data-rows="${runs.items.length}"><thead><tr><th>Run</th><th>Status</th><th>World</th><th>Scenario</th>
      <th class="num">Seed</th><th>Started</th><th class="num">Duration</th><th class="num">Welfare</th></tr></thead>
      <tbody>${rows || `<tr><td colspan="8" class="muted">No runs${Object.keys(query).length ? " match these filters" : " yet"}.</td></tr>`}</tbody></table>
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
  document.getElementById("filters").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const params = new URLSearchParams();
    for (const [k, v] of form) if (v && !(k === "limit" && v === "50")) params.set(k, v);
    location.href = "/" + (params.toString() ? `?${params}` : "");
  });
  ready("list");
  if (runs.items.some((r) => ACTIVE.has(r.status))) setTimeout(() => renderList().catch(showError), 2000);
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

function metricsSection(run) {
  const metrics = run.metrics || {};
  if (!Object.keys(metrics).length) {
    const none = `<p class="muted">No metrics yet${ACTIVE.has(run.status) ? " — the run is still going" : ""}.</p>`;
    return { welfare: none, details: "" };
  }
  const w = welfareRows(metrics);
  const gapCell = (row) => {
    const pct = row.theory !== 0 ? ` <span class="muted">(${num(100 * row.gap / Math.abs(row.theory), 1)}%)</span>` : "";
    return `<td class="num ${row.gap < 0 ? "neg" : "pos"}">${esc(num(row.gap))}${pct}</td>`;
  };
  const welfare = `<table class="grid" id="welfare"><thead><tr><th>Welfare</th><th>Scale</th><th class="num">Theory</th>
      <th class="num">Simulation</th><th class="num">Gap (sim − theory)</th></tr></thead><tbody>
      <tr class="sim"><td>simulated welfare</td><td>total</td><td></td><td class="num">${esc(num(w.total))}</td><td></td></tr>
      ${w.rounds ? `<tr class="sim"><td>simulated welfare</td><td>per round (${esc(num(w.rounds))} rounds)</td><td></td><td class="num">${esc(num(w.perRound))}</td><td></td></tr>` : ""}
      ${w.rows.map((row) => `<tr data-kind="${row.kind}"><td>${esc(row.kind)}: <code>${esc(row.key)}</code></td><td>${row.scale}</td>
        <td class="num">${esc(num(row.theory))}</td><td class="num">${esc(num(row.sim))}</td>${gapCell(row)}</tr>`).join("")}
      </tbody></table>`;
  const kv = (object, id) => `<table class="grid kv" id="${id}"><tbody>${Object.entries(object || {}).map(([k, v]) =>
    `<tr><th>${esc(k)}</th><td class="${typeof v === "number" ? "num" : ""}">${typeof v === "number" ? esc(num(v)) :
      `<code>${esc(short(v, 300))}</code>`}</td></tr>`).join("")}</tbody></table>`;
  const payoffs = Object.entries(metrics.payoffs || {});
  const payoffTable = payoffs.length > 200
    ? `<p class="muted">${payoffs.length} agents; first 200 shown.</p>${kv(Object.fromEntries(payoffs.slice(0, 200)), "payoffs")}`
    : kv(metrics.payoffs, "payoffs");
  return {
    welfare,
    details: `<div class="cols"><div><h3>Theory</h3>${kv(flatten(metrics.theory), "theory")}<h3>Payoffs</h3>${payoffTable}</div>
      <div><h3>Measures</h3>${kv(flatten(metrics.measures), "measures")}</div></div>`,
  };
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
  return api.blob(path).then((blob) => new Promise((resolve, reject) => {
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error(`the image ${path} did not decode`));
    img.src = URL.createObjectURL(blob);
  })).catch((error) => {
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
      const blob = await api.blob(a.dataset.download);
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
      <p>${market ? `<a id="conversations-link" class="button" href="/ui/runs/${esc(run.id)}/conversations">Customer conversations</a> ` : ""}
        ${s.counters?.llm_calls ? `<a id="transcript-link" class="button" href="/ui/runs/${esc(run.id)}/transcript">LLM transcript</a> ` : ""}
        <a href="#" data-download="/runs/${esc(run.id)}" data-name="run-${esc(run.id)}.json">JSON</a> ·
        <a href="#" data-download="/runs/${esc(run.id)}/events?limit=5000" data-name="run-${esc(run.id)}-events.json">events (first 5,000)</a></p>
    </div>
    <div class="cols"><section><h2>Theory beside simulation</h2>${metrics.welfare}</section>
      <section><h2>Plots</h2><div id="plots">${plotsSection(run.id, plots)}</div></section></div>
    <section><h2>Metrics</h2><div id="metrics">${metrics.details}</div></section>
    <section><h2>Parameters</h2>${parametersSection(details)}</section>
    <section><h2>Scenario</h2><pre id="scenario-yaml">${esc(run.scenario_text || "")}</pre></section>`;
  wireImages(main());
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
  const pendingSend = new Map(); // agent -> its send_message action of this decision
  for (const e of events) {
    const d = e.data || {};
    if (e.kind === "action" && d.action?.kind === "send_message") {
      pendingSend.set(e.agent, d.action);
    } else if (e.kind === "search" && isCustomer(e.agent)) {
      convo(e.agent).entries.push({ type: "search", t: e.t, seq: e.seq, query: d.query, page: d.page, results: d.results || [] });
    } else if (e.kind === "message") {
      const action = pendingSend.get(e.agent);
      pendingSend.delete(e.agent);
      const message = action && action.to === d.to ? action.message || {} : {};
      const kind = d.message_kind || message.kind;
      if (kind === "payment" && isCustomer(e.agent)) continue; // shown by its payment event (logged just before)
      const entry = { type: kind, t: e.t, seq: e.seq, id: d.id, from: e.agent, to: d.to, text: message.text || "",
        proposal_id: d.proposal_id, total: d.total, items: message.items || [] };
      if (isCustomer(e.agent)) { entry.dir = "out"; convo(e.agent).entries.push(entry); }
      if (isCustomer(d.to)) {
        entry.dir = "in";
        const c = convo(d.to);
        c.entries.push(entry);
        if (kind === "order_proposal" && d.proposal_id) c.proposals.set(d.proposal_id, entry);
      }
    } else if (e.kind === "payment" && isCustomer(e.agent)) {
      const c = convo(e.agent);
      const action = pendingSend.get(e.agent);
      const text = action?.message?.kind === "payment" ? action.message.text || "" : "";
      c.entries.push({ type: "paid", t: e.t, seq: e.seq, business: d.business, proposal_id: d.proposal_id, amount: d.amount, text });
      c.paid.push(d.proposal_id);
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
  // The world's rule (simulator/worlds/marketplace/measures.py, meets_needs): needs are met when a paid proposal lists every
  // requested item and its business has every required amenity.
  if (!c.paid.length) return { paid: false, met: false, reasons: ["no proposal was paid"] };
  const checks = c.paid.map((pid) => {
    const proposal = c.proposals.get(pid);
    const reasons = [];
    if (!customer) return { pid, met: null, reasons: ["the customer's request is unknown"] };
    const offered = new Set((proposal?.items || []).map((i) => i.name));
    const missing = Object.keys(customer.items).filter((name) => !offered.has(name));
    if (missing.length) reasons.push(`missing item${missing.length > 1 ? "s" : ""}: ${missing.join(", ")}`);
    const business = businesses.get(proposal?.from);
    const lacking = business ? customer.amenities.filter((a) => !business.amenities.includes(a)) : [];
    if (lacking.length) reasons.push(`business lacks: ${lacking.join(", ")}`);
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
      <p>Wants: ${Object.entries(person.items).map(([item, wtp]) => `<span class="chip">${esc(item)} <span class="muted">≤ ${esc(num(wtp))}</span></span>`).join(" ")}
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
  const body = rows.slice(1, 501);
  const runCol = header.findIndex((h) => h === "run_id" || h === "id");
  const table = header.length ? `<table class="grid" id="sweep-table"><thead><tr>${header.map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead>
      <tbody>${body.map((r) => `<tr>${r.map((v, i) => i === runCol ? `<td><a href="/ui/runs/${esc(v)}">${esc(v)}</a></td>`
        : cell(v)).join("")}</tr>`).join("")}</tbody></table>
      ${rows.length - 1 > body.length ? `<p class="muted">First ${body.length} of ${rows.length - 1} rows; download the CSV for all.</p>` : ""}`
    : `<p class="muted">No finished cells yet.</p>`;
  const csvHref = csv ? URL.createObjectURL(new Blob([csv], { type: "text/csv" })) : null;
  main().innerHTML = `<h1>${esc(sweep.scenario_name)} <span class="muted">sweep ${esc(sweep.id)}</span> ${badge(sweep.status)}</h1>
    <div class="card"><div class="progress-row"><progress max="100" value="${Math.round(100 * sweep.progress)}"></progress>
      <span>${esc(sweep.done)} / ${esc(sweep.n_cells)} cells</span></div>
      <dl class="facts"><dt>World</dt><dd>${esc(sweep.world)}</dd><dt>Started</dt><dd>${esc(when(sweep.created_at))}</dd>
      <dt>Finished</dt><dd>${esc(when(sweep.finished_at))}</dd><dt>Runs</dt><dd>${esc(Object.entries(sweep.runs).map(([k, v]) => `${v} ${k}`).join(", "))}</dd></dl>
      ${sweep.error ? `<p class="field-error">${esc(sweep.error)}</p>` : ""}
      <p>Grid: <code>${esc(short(sweep.spec, 400))}</code></p></div>
    <section><h2>Figures</h2><div class="plots">${plots.items.map((name) => `<figure><img class="plot" data-plot="${esc(name)}" alt="${esc(name)}"
      data-src="/sweeps/${enc}/plots/${esc(name)}.png"><figcaption>${esc(name)} ·
      <a href="#" data-download="/sweeps/${enc}/plots/${esc(name)}.csv" data-name="${esc(sweep.id)}-${esc(name)}.csv">CSV</a></figcaption></figure>`).join("") || `<p class="muted">No figures yet.</p>`}</div></section>
    <section><h2>Tidy table ${csvHref ? `<a id="csv-download" class="button" href="${csvHref}" download="sweep-${esc(sweep.id)}.csv">Download CSV</a>` : ""}</h2>${table}</section>`;
  wireImages(main());
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

// ---------------------------------------------------------------- routing

async function route() {
  showForget();
  document.getElementById("forget-key")?.addEventListener("click", () => { forgetKey(); location.reload(); });
  const path = location.pathname.replace(/\/+$/, "") || "/";
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  try {
    if (path === "/" || path === "/ui") return await renderList();
    if (parts[1] === "new") return await renderNew();
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
