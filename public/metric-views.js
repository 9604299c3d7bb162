/**
 * The views of a metrics push: the cluster and instance cache cards, the instances reporting, node
 * health and the shard bars, plus the time of the push shown. Every figure is the backend's, as
 * cache-metrics-service.js checked it; a bar's width is the only thing worked out here.
 *
 * @example
 *   const views = createMetricViews();
 *   metrics.subscribe(views.render);
 */
import { el, show } from "./dom.js";
import { clock, count, percent, speed } from "./format.js";

const STALE_AFTER_MS = 3500; // a few missed pushes before the metrics time turns amber

const SHARD_BARS = [
  ["hits", "hits", "hits"],
  ["misses", "misses", "misses"],
  ["replica_fallbacks", "replica", "replica"],
  ["primary_fallbacks", "primary", "primary"],
];

const $ = (id) => document.getElementById(id);

export function createMetricViews() {
  let shownAt;

  // A push that does not come is otherwise invisible: the page would keep showing old figures.
  setInterval(() => {
    $("metrics-at").dataset.stale = String(shownAt !== undefined && Date.now() - shownAt > STALE_AFTER_MS);
  }, 1000);

  function render(state) {
    renderFigures("cluster", state.cluster);
    renderFigures("instance", state.instance);
    $("instance-node").textContent = state.instance.node;
    renderInstances(state.cluster.instances, state.instance.node);
    const source = $("cluster-source");
    source.dataset.source = state.cluster.source;
    source.textContent = state.cluster.source === "redis" ? "all instances" : state.cluster.source === "local" ? "this instance only (Redis down)" : state.cluster.source;
    shownAt = state.at;
    const at = $("metrics-at");
    at.textContent = clock(state.at);
    at.dateTime = new Date(state.at).toISOString();
    at.dataset.at = String(state.at); // the push this page shows, so a test can match it to /api/metrics
    at.dataset.stale = "false";
    renderNodes(state.nodes);
    renderShards(state.cluster.shards);
  }

  return { render };
}

function renderFigures(prefix, figures) {
  show($(`${prefix}-hit-rate`), figures.cache_hit_rate, percent);
  show($(`${prefix}-miss-rate`), figures.cache_miss_rate, percent);
  show($(`${prefix}-hits`), figures.cache_hit_count, count);
  show($(`${prefix}-misses`), figures.cache_miss_count, count);
  show($(`${prefix}-total`), figures.cache_total, count);
  show($(`${prefix}-reads-per-s`), figures.reads_per_s, speed);
  show($(`${prefix}-writes-per-s`), figures.writes_per_s, speed);
  show($(`${prefix}-memory-hits`), figures.memory_hits, count);
  show($(`${prefix}-redis-hits`), figures.redis_hits, count);
  show($(`${prefix}-memory-share`), figures.memory_hit_share, percent);
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

// The boxes are rebuilt only when the shard count changes, so the bars glide between pushes.
function shardBoxes(n) {
  return Array.from({ length: n }, (_, i) =>
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
  );
}

// Bars share one scale across shards so a hot shard stands out; the scale is only for drawing.
function renderShards(shards) {
  const root = $("shards");
  if (shards.length === 0) {
    root.replaceChildren(el("p", { class: "muted", text: "no shards reported" }));
    return;
  }
  if (root.querySelectorAll(".shard").length !== shards.length) root.replaceChildren(...shardBoxes(shards.length));
  const scale = Math.max(1, ...shards.flatMap((s) => SHARD_BARS.map(([field]) => s[field])));
  shards.forEach((shard, i) => {
    const box = root.children[i];
    for (const [field] of SHARD_BARS) {
      box.querySelector(`[data-field="${field}"]`).style.width = `${(shard[field] / scale) * 100}%`;
      show($(`shard-${i}-${field}`), shard[field], count);
    }
    const memory = shard.memory_hits;
    const redis = shard.redis_hits;
    const hitsRow = box.querySelector('[data-row="hits"]');
    hitsRow.dataset.memoryHits = memory === null ? "" : String(memory);
    hitsRow.dataset.redisHits = redis === null ? "" : String(redis);
    hitsRow.title = memory === null || redis === null ? "" : `${count(memory)} from memory · ${count(redis)} from Redis`;
    box.querySelector('[data-field="memory_hits"]').style.width = `${memory === null || shard.hits === 0 ? 0 : (memory / shard.hits) * 100}%`;
    const chip = (label, value, hot) => el("span", { class: hot && value > 0 ? "hot" : "" }, `${label} `, el("b", { text: count(value) }));
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
