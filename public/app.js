import { createCacheMetricsService } from "./cache-metrics-service.js";
import { createTopologyPanel } from "./topology-panel.js";
import { createClicksPanel } from "./clicks-panel.js";
import { createAdminKey } from "./admin-key.js";
import { el } from "./dom.js";

/*
 * The dashboard: one WebSocket to /ws (events, metrics, topology), a link-creation form, and views
 * that render what the backend sends. Cache figures come only from cache-metrics-service.js; nothing
 * here derives a rate or a count from the event stream.
 */

const FEED_ROWS = 200; // rows in the DOM: enough to read, few enough to re-render every frame
const FEED_BUFFER = 1000; // events kept in memory so filter changes can refill the table
const HISTORY_POINTS = 180; // ~3 minutes at the default 1 s push
const STALE_AFTER_MS = 3500; // a few missed pushes before the metrics time turns amber
const SILENT_SOCKET_MS = 10_000; // metrics arrive every second; this long with nothing means a dead socket
const BACKOFF_MIN_MS = 250;
const BACKOFF_MAX_MS = 8000;

const $ = (id) => document.getElementById(id);
const metrics = createCacheMetricsService({ historyLimit: HISTORY_POINTS });
const topology = createTopologyPanel();
const clicks = createClicksPanel();
const adminKey = createAdminKey({
  storage: sessionStorage,
  card: $("key-card"),
  form: $("key-form"),
  input: $("key-input"),
  message: $("key-message"),
  onKey: () => {
    connection.attempt = 0;
    connect();
  },
});

// ---------------------------------------------------------------- formatting

const countFormat = new Intl.NumberFormat("en-US");
const speedFormat = new Intl.NumberFormat("en-US", { maximumFractionDigits: 1, minimumFractionDigits: 1 });
const percent = (rate) => `${(rate * 100).toFixed(1)}%`;
const clock = (ms) => new Date(ms).toLocaleTimeString("en-GB", { hour12: false });

/**
 * Shows a backend value formatted, and keeps the raw value in data-value for exact comparison.
 * null (a figure an older server does not send) shows as "—" with an empty data-value.
 */
function show(id, raw, format) {
  const el = $(id);
  if (!el) return;
  const value = raw === null || raw === undefined ? "" : String(raw);
  if (el.dataset.value === value) return;
  el.dataset.value = value;
  el.textContent = value === "" ? "—" : format(raw);
}

// ---------------------------------------------------------------- connection

const connection = { socket: null, attempt: 0, connects: 0, retryTimer: 0, lastMessageAt: 0 };

function socketUrl() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  // A server without the topology topic rejects the list and falls back to events,metrics.
  return `${scheme}//${location.host}/ws?topics=events,metrics,topology`;
}

function setStatus(state, text) {
  const el = $("connection-status");
  el.dataset.state = state;
  el.dataset.connects = String(connection.connects);
  $("connection-text").textContent = text;
}

function connect() {
  clearTimeout(connection.retryTimer);
  setStatus(connection.attempt === 0 ? "connecting" : "reconnecting", connection.attempt === 0 ? "Connecting…" : `Reconnecting (attempt ${connection.attempt + 1})…`);
  let socket;
  try {
    socket = new WebSocket(socketUrl());
  } catch {
    scheduleReconnect();
    return;
  }
  connection.socket = socket;
  socket.onopen = () => {
    connection.attempt = 0;
    connection.connects++;
    connection.lastMessageAt = Date.now();
    setStatus("connected", "Connected");
  };
  socket.onmessage = (message) => {
    connection.lastMessageAt = Date.now();
    handleMessage(message.data, socket);
  };
  socket.onclose = (event) => {
    // A socket we already gave up on (watchdog, key refused) must not schedule a second reconnect.
    if (connection.socket !== socket) return;
    connection.socket = null;
    // 1008 about the key: retrying with it cannot help; wait for another one.
    if (event.code === 1008 && /key|authentication/.test(event.reason)) {
      lock(`The server refused the key (${event.reason}). Paste an admin key.`, true);
      return;
    }
    scheduleReconnect();
  };
}

/** Stops connecting until a key is given: the socket is dropped and the key form shown. */
function lock(why, refused) {
  const socket = connection.socket;
  connection.socket = null;
  socket?.close();
  clearTimeout(connection.retryTimer);
  setStatus("locked", "Needs an admin key");
  adminKey.ask(why, { refused });
}

// The server asks for a key unless it runs in public mode: the stored one is sent, or asked for.
function authenticate(socket) {
  if (adminKey.value === null) lock("This dashboard shows every link's traffic, so it needs an admin key.", false);
  else socket.send(JSON.stringify({ auth: adminKey.value }));
}

// Exponential backoff with jitter, so a restarted server is not hit by every dashboard at once.
function scheduleReconnect() {
  const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** connection.attempt);
  const delay = Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
  connection.attempt++;
  setStatus("disconnected", `Disconnected · retry in ${(delay / 1000).toFixed(1)} s`);
  connection.retryTimer = setTimeout(connect, delay);
}

// A socket can stay "open" through a hung server or a dropped network; silence is the only sign.
setInterval(() => {
  const socket = connection.socket;
  if (socket?.readyState === WebSocket.OPEN && Date.now() - connection.lastMessageAt > SILENT_SOCKET_MS) {
    connection.socket = null;
    socket.close();
    scheduleReconnect();
  }
  const at = metrics.getLatest()?.at;
  $("metrics-at").dataset.stale = String(at !== undefined && Date.now() - at > STALE_AFTER_MS);
}, 1000);

addEventListener("online", () => {
  if (!connection.socket) {
    connection.attempt = 0;
    connect();
  }
});

// The socket carries only pushes made after it opened; the last push fills the page right away.
async function primeMetrics() {
  try {
    const response = await fetch("/api/metrics", { cache: "no-store", headers: adminKey.headers() });
    if (response.ok) metrics.ingest(await response.json());
  } catch {
    // The next push over the socket fills the page instead.
  }
}

// Asked only once the server confirms the topology topic, so an older server (no topic, no
// /api/topology) is never sent a request it would answer 404 to. A push that arrives while the
// request is out is newer than its answer, which is then dropped.
async function primeTopology() {
  const drawn = topology.updates;
  try {
    const response = await fetch("/api/topology", { cache: "no-store", headers: adminKey.headers() });
    if (!response.ok) return;
    const body = await response.json();
    if (topology.updates === drawn) topology.render(body);
  } catch {
    // The next push over the socket fills the panel instead.
  }
}

function handleMessage(data, socket) {
  let message;
  try {
    message = JSON.parse(data);
  } catch {
    return;
  }
  if (message?.kind === "metrics") metrics.ingest(message);
  else if (message?.kind === "events" && message.topic === "events" && Array.isArray(message.events)) feed.add(message.events);
  else if (message?.kind === "topology") topology.render(message);
  else if (message?.kind === "subscribed" && Array.isArray(message.topics)) subscribed(message.topics);
  else if (message?.kind === "auth-required") authenticate(socket);
  else if (message?.kind === "authenticated" && message.everything !== true) lock("That key is an ordinary one: it sees only its own links. The dashboard needs an admin key.", true);
  else if (message?.kind === "authenticated") adminKey.hide();
  else if (message?.kind === "error") console.warn("server refused a socket message:", message.error?.message);
}

// The socket is in: the last push fills the page at once (the socket carries only later ones).
function subscribed(topics) {
  void primeMetrics();
  if (topics.includes("topology")) void primeTopology();
}

// ---------------------------------------------------------------- metrics views

metrics.subscribe((state) => {
  renderFigures("cluster", state.cluster);
  renderFigures("instance", state.instance);
  $("instance-node").textContent = state.instance.node;
  renderInstances(state.cluster.instances, state.instance.node);
  const source = $("cluster-source");
  source.dataset.source = state.cluster.source;
  source.textContent = state.cluster.source === "redis" ? "all instances" : state.cluster.source === "local" ? "this instance only (Redis down)" : state.cluster.source;
  const at = $("metrics-at");
  at.textContent = clock(state.at);
  at.dateTime = new Date(state.at).toISOString();
  at.dataset.at = String(state.at); // the push this page shows, so a test can match it to /api/metrics
  at.dataset.stale = "false";
  renderNodes(state.nodes);
  renderShards(state.cluster.shards);
  chart.draw(state.series);
});

// Its own listener, so a fault in one view does not stop the others drawing.
metrics.subscribe((state) => clicks.render(state));

function renderFigures(prefix, figures) {
  show(`${prefix}-hit-rate`, figures.cache_hit_rate, percent);
  show(`${prefix}-miss-rate`, figures.cache_miss_rate, percent);
  show(`${prefix}-hits`, figures.cache_hit_count, (v) => countFormat.format(v));
  show(`${prefix}-misses`, figures.cache_miss_count, (v) => countFormat.format(v));
  show(`${prefix}-total`, figures.cache_total, (v) => countFormat.format(v));
  show(`${prefix}-reads-per-s`, figures.reads_per_s, (v) => speedFormat.format(v));
  show(`${prefix}-writes-per-s`, figures.writes_per_s, (v) => speedFormat.format(v));
  show(`${prefix}-memory-hits`, figures.memory_hits, (v) => countFormat.format(v));
  show(`${prefix}-redis-hits`, figures.redis_hits, (v) => countFormat.format(v));
  show(`${prefix}-memory-share`, figures.memory_hit_share, percent);
  $(`${prefix}-hit-meter`).style.width = percent(figures.cache_hit_rate);
}


function renderInstances(instances, self) {
  const chips = instances.map((name) => el("span", { class: name === self ? "instance self" : "instance", "data-instance": name, title: name === self ? "serving this page" : "" }, name));
  $("cluster-instances").replaceChildren(...(chips.length ? chips : [el("span", { class: "muted", text: "none reporting" })]));
}

// Node names end in their shard number (redis-0, primary-0, replica-0): one row per shard.
function renderNodes(nodes) {
  const root = $("node-health");
  if (nodes.length === 0) {
    root.replaceChildren(el("p", { class: "muted", text: "no nodes reported" }));
    return;
  }
  const groups = new Map();
  for (const node of nodes) {
    const shard = /-(\d+)$/.exec(node.name)?.[1] ?? "other";
    if (!groups.has(shard)) groups.set(shard, []);
    groups.get(shard).push(node);
  }
  const rows = [...groups].map(([shard, members]) =>
    el(
      "div",
      { class: "node-group" },
      el("span", { class: "node-group-label", text: shard === "other" ? "other" : `shard ${shard}` }),
      ...members.map((n) =>
        el("div", { class: "node", "data-node": n.name, "data-breaker": n.breaker, title: `${n.name}: breaker ${n.breaker}` }, el("i", { class: "dot" }), el("span", { text: shard === "other" ? n.name : n.name.replace(/-\d+$/, "") })),
      ),
    ),
  );
  root.replaceChildren(...rows);
}

const SHARD_BARS = [
  ["hits", "hits", "hits"],
  ["misses", "misses", "misses"],
  ["replica_fallbacks", "replica", "replica"],
  ["primary_fallbacks", "primary", "primary"],
];

// Bars share one scale across shards so a hot shard stands out; the scale is only for drawing.
function renderShards(shards) {
  const root = $("shards");
  if (shards.length === 0) {
    root.replaceChildren(el("p", { class: "muted", text: "no shards reported" }));
    return;
  }
  if (root.querySelectorAll(".shard").length !== shards.length) {
    root.replaceChildren(
      ...shards.map((_, i) =>
        el(
          "div",
          { class: "shard", "data-shard": String(i) },
          el("div", { class: "shard-head" }, el("b", { text: `shard ${i}` }), el("span", { class: "chips" })),
          ...SHARD_BARS.map(([field, label, cls]) =>
            el(
              "div",
              { class: "bar-row", "data-row": field },
              el("span", { class: "bar-label", text: label }),
              // The hits bar holds a memory segment; the rest of it (the bar's own colour) is Redis.
              el("div", { class: "bar" }, el("div", { class: `bar-fill ${cls}`, "data-field": field }, ...(field === "hits" ? [el("div", { class: "bar-seg memory", "data-field": "memory_hits" })] : []))),
              el("span", { class: "bar-value", id: `shard-${i}-${field}` }),
            ),
          ),
        ),
      ),
    );
  }
  const scale = Math.max(1, ...shards.flatMap((s) => SHARD_BARS.map(([field]) => s[field])));
  shards.forEach((shard, i) => {
    const box = root.children[i];
    for (const [field] of SHARD_BARS) {
      box.querySelector(`[data-field="${field}"]`).style.width = `${(shard[field] / scale) * 100}%`;
      show(`shard-${i}-${field}`, shard[field], (v) => countFormat.format(v));
    }
    const memory = shard.memory_hits;
    const redis = shard.redis_hits;
    const hitsRow = box.querySelector('[data-row="hits"]');
    hitsRow.dataset.memoryHits = memory === null ? "" : String(memory);
    hitsRow.dataset.redisHits = redis === null ? "" : String(redis);
    hitsRow.title = memory === null || redis === null ? "" : `${countFormat.format(memory)} from memory · ${countFormat.format(redis)} from Redis`;
    box.querySelector('[data-field="memory_hits"]').style.width = `${memory === null || shard.hits === 0 ? 0 : (memory / shard.hits) * 100}%`;
    const chip = (label, value, hot) => el("span", { class: hot && value > 0 ? "hot" : "" }, `${label} `, el("b", { text: countFormat.format(value) }));
    box.querySelector(".chips").replaceChildren(
      chip("writes", shard.writes),
      " · ",
      chip("write err", shard.write_errors, true),
      " · ",
      chip("not found", shard.not_found),
      " · ",
      chip("errors", shard.errors, true),
    );
  });
}

// ---------------------------------------------------------------- chart

const chart = (() => {
  const canvas = $("metrics-chart");
  const ctx = canvas.getContext("2d");
  let lastSeries = [];

  const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

  // A round axis maximum (1, 2, 5 × 10^n) so the right-hand labels are readable.
  function niceMax(value) {
    if (value <= 0) return 10;
    const power = 10 ** Math.floor(Math.log10(value));
    for (const step of [1, 2, 5, 10]) if (value <= step * power) return step * power;
    return 10 * power;
  }

  function draw(series = lastSeries) {
    lastSeries = series;
    $("chart-empty").hidden = series.length > 0;
    const ratio = devicePixelRatio || 1;
    const width = canvas.clientWidth;
    const height = canvas.clientHeight;
    if (width === 0 || height === 0) return;
    if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(height * ratio);
    }
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const pad = { left: 44, right: 50, top: 10, bottom: 22 };
    const plotW = width - pad.left - pad.right;
    const plotH = height - pad.top - pad.bottom;
    if (plotW <= 0 || plotH <= 0) return;

    const font = `11px ${css("--mono") || "monospace"}`;
    const muted = css("--muted");
    const end = series.length ? series[series.length - 1].at : Date.now();
    // The window grows with the history (30 s to 3 minutes) so a fresh page is not a sliver at the edge.
    const spanS = series.length ? (end - series[0].at) / 1000 : 0;
    const windowS = Math.min(HISTORY_POINTS, Math.max(30, Math.ceil(spanS / 30) * 30));
    const windowMs = windowS * 1000;
    const x = (at) => pad.left + plotW - ((end - at) / windowMs) * plotW;
    const rpsMax = niceMax(Math.max(0, ...series.map((p) => p.requests_per_s)));
    const yRate = (rate) => pad.top + plotH - rate * plotH;
    const yRps = (rps) => pad.top + plotH - (rps / rpsMax) * plotH;

    ctx.font = font;
    ctx.lineWidth = 1;
    ctx.strokeStyle = css("--grid");
    ctx.fillStyle = muted;
    for (let i = 0; i <= 4; i++) {
      const y = Math.round(pad.top + (plotH * i) / 4) + 0.5;
      ctx.beginPath();
      ctx.moveTo(pad.left, y);
      ctx.lineTo(pad.left + plotW, y);
      ctx.stroke();
      ctx.textAlign = "right";
      ctx.textBaseline = "middle";
      ctx.fillText(`${100 - i * 25}%`, pad.left - 6, y);
      ctx.textAlign = "left";
      ctx.fillText(compact(rpsMax * (1 - i / 4)), pad.left + plotW + 6, y);
    }
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    for (let s = 0; s <= windowS; s += windowS > 90 ? 30 : windowS > 30 ? 15 : 10) {
      ctx.textAlign = s === windowS ? "left" : s === 0 ? "right" : "center";
      ctx.fillText(s === 0 ? "now" : `-${s}s`, pad.left + plotW - (s / windowS) * plotW, pad.top + plotH + 6);
    }
    if (series.length === 0) return;

    ctx.save();
    ctx.beginPath();
    ctx.rect(pad.left, pad.top, plotW, plotH);
    ctx.clip();
    const hit = css("--hit");
    // Filled area under the hit rate: the figure this dashboard exists for.
    ctx.globalAlpha = 0.14;
    ctx.fillStyle = hit;
    for (const run of runs(series)) {
      ctx.beginPath();
      ctx.moveTo(x(run[0].at), yRate(0));
      for (const p of run) ctx.lineTo(x(p.at), yRate(p.hit_rate));
      ctx.lineTo(x(run[run.length - 1].at), yRate(0));
      ctx.fill();
    }
    ctx.globalAlpha = 1;
    line(series, x, (p) => yRps(p.requests_per_s), css("--rps"), 1.5);
    line(series, x, (p) => yRate(p.hit_rate), hit, 2);
    ctx.restore();
  }

  function line(series, x, y, colour, width) {
    ctx.strokeStyle = colour;
    ctx.lineWidth = width;
    ctx.lineJoin = "round";
    for (const run of runs(series)) {
      ctx.beginPath();
      run.forEach((p, i) => (i === 0 ? ctx.moveTo(x(p.at), y(p)) : ctx.lineTo(x(p.at), y(p))));
      if (run.length === 1) ctx.arc(x(run[0].at), y(run[0]), width, 0, Math.PI * 2);
      ctx.stroke();
    }
  }

  // Splits the series where pushes stopped (server down), so the gap shows instead of a ramp.
  function runs(series) {
    const out = [];
    let current = [];
    for (const p of series) {
      if (current.length && p.at - current[current.length - 1].at > 5000) {
        out.push(current);
        current = [];
      }
      current.push(p);
    }
    if (current.length) out.push(current);
    return out;
  }

  function compact(n) {
    return n >= 1000 ? `${(n / 1000).toFixed(n >= 10_000 ? 0 : 1)}k` : String(Math.round(n));
  }

  new ResizeObserver(() => draw()).observe(canvas);
  return { draw };
})();

// ---------------------------------------------------------------- event feed

const feed = (() => {
  const body = $("event-feed");
  let buffer = []; // newest first
  let pending = []; // oldest first, as received
  let scheduled = false;
  let paused = false;
  let highlight = "";
  const filter = { types: new Set(["read", "write"]), statuses: new Set(["OK", "NOT_FOUND", "ERROR"]), code: "" };

  const isEvent = (e) => e && typeof e === "object" && (e.type === "read" || e.type === "write") && typeof e.status === "string";
  const matches = (item) => filter.types.has(item.e.type) && filter.statuses.has(item.e.status) && (!filter.code || String(item.e.short_code ?? "").includes(filter.code));

  function add(events) {
    const at = Date.now();
    for (const e of events) if (isEvent(e)) pending.push({ e, at });
    // A hidden tab gets no animation frames; keep only what the buffer could hold anyway.
    if (pending.length > FEED_BUFFER) pending = pending.slice(pending.length - FEED_BUFFER);
    if (!scheduled) {
      scheduled = true;
      requestAnimationFrame(flush);
    }
  }

  function flush() {
    scheduled = false;
    if (pending.length === 0) return;
    const fresh = pending.reverse();
    pending = [];
    buffer = fresh.concat(buffer).slice(0, FEED_BUFFER);
    if (paused) return;
    const visible = fresh.filter(matches).slice(0, FEED_ROWS);
    // Under load every row would flash all the time, which only adds noise: flash a trickle only.
    const flash = visible.length <= 5;
    const rows = visible.map((item) => row(item, flash));
    if (rows.length === 0) return;
    body.prepend(...rows);
    while (body.rows.length > FEED_ROWS) body.lastElementChild.remove();
    count();
  }

  function renderAll() {
    body.replaceChildren(...buffer.filter(matches).slice(0, FEED_ROWS).map((item) => row(item, false)));
    count();
  }

  function count() {
    $("feed-count").textContent = `${body.rows.length} shown · ${buffer.length} buffered`;
  }

  // A hot-link (memory) hit is a HIT like a Redis one; only its source label differs.
  const cacheOf = (e) => e.cache ?? (e.source === "memory" || e.source === "redis" ? "HIT" : undefined);

  // textContent only: short codes in NOT_FOUND events are whatever a client typed in the URL.
  function row({ e, at }, fresh) {
    const tr = document.createElement("tr");
    tr.dataset.type = e.type;
    tr.dataset.status = e.status;
    tr.dataset.code = e.short_code ?? "";
    tr.dataset.source = e.source ?? "";
    tr.dataset.eventId = e.event_id ?? "";
    if (fresh) tr.className = "fresh";
    if (highlight && e.short_code === highlight) tr.dataset.highlight = "true";
    const cells = [
      el("td", { class: "mono", text: clock(at) }),
      el("td", {}, el("span", { class: `pill ${e.type}`, text: e.type })),
      el("td", {}, el("span", { class: `pill ${e.status}`, text: e.status })),
      el("td", { class: "code", text: e.short_code ?? "—", title: e.short_code ?? "" }),
      e.type === "read"
        ? el("td", {}, el("span", { class: `pill ${cacheOf(e)}`, text: cacheOf(e) ?? "?" }), " ", el("span", { class: "source", "data-source": e.source ?? "", text: e.source ?? "" }), e.db ? ` · ${e.db}` : "")
        : el("td", { text: e.db ?? "—" }),
      el("td", { class: "mono", text: e.node ?? "" }),
      el("td", { class: "num mono", text: typeof e.latency_ms === "number" ? `${e.latency_ms.toFixed(1)} ms` : "—" }),
    ];
    tr.append(...cells);
    return tr;
  }

  for (const input of $("feed-filters").querySelectorAll('input[type="checkbox"]')) {
    input.addEventListener("change", () => {
      const set = input.name === "type" ? filter.types : filter.statuses;
      if (input.checked) set.add(input.value);
      else set.delete(input.value);
      renderAll();
    });
  }
  $("filter-code").addEventListener("input", (event) => {
    filter.code = event.target.value.trim();
    renderAll();
  });
  $("feed-pause").addEventListener("click", (event) => {
    paused = !paused;
    event.currentTarget.setAttribute("aria-pressed", String(paused));
    event.currentTarget.textContent = paused ? "Resume" : "Pause";
    if (!paused) renderAll();
  });
  $("feed-clear").addEventListener("click", () => {
    buffer = [];
    renderAll();
  });

  return {
    add,
    highlight(code) {
      highlight = code;
      for (const tr of body.rows) {
        if (tr.dataset.code === code) tr.dataset.highlight = "true";
        else delete tr.dataset.highlight;
      }
    },
  };
})();

// ---------------------------------------------------------------- create + follow

const createForm = $("create-form");
let created = null;

function say(text, kind = "") {
  const message = $("create-message");
  message.textContent = text;
  message.dataset.kind = kind;
}

createForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const button = $("create-submit");
  button.disabled = true;
  say("");
  try {
    const response = await fetch("/create", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ url: $("create-url").value.trim() }),
    });
    const body = await response.json().catch(() => null);
    if (!response.ok || !body?.short_code) {
      say(body?.error?.message ?? `the server answered ${response.status}`, "error");
      return;
    }
    created = body;
    const link = $("created-link");
    link.href = body.short_url;
    link.textContent = body.short_url;
    $("created-long").textContent = `→ ${body.long_url}`;
    $("create-result").hidden = false;
    feed.highlight(body.short_code);
    say(body.created ? "Created: watch the write in the feed, then follow it." : "Already shortened: same code as before.", "ok");
  } catch {
    say("The server did not answer; check the connection status.", "error");
  } finally {
    button.disabled = false;
  }
});

// The redirect is fetched, not followed: the read happens and shows in the feed, while the long
// URL (another origin, maybe unreachable from here) is never loaded.
$("follow-button").addEventListener("click", async () => {
  if (!created) return;
  try {
    const response = await fetch(`/${encodeURIComponent(created.short_code)}`, { redirect: "manual", cache: "no-store" });
    say(response.type === "opaqueredirect" ? "Followed: the redirect was served; watch the read in the feed." : `Followed: the server answered ${response.status}.`, "ok");
  } catch {
    say("The server did not answer; check the connection status.", "error");
  }
});

connect();
