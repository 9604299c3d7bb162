/**
 * The Topology panel: the ring in force, an online re-sharding migration and its copy progress,
 * as the backend sends them (WebSocket `topology` messages and GET /api/topology).
 *
 * Like the other views it computes no figure of its own. scanned/total only sets a bar's width,
 * and an instance is marked "behind" when the ring version it acknowledged is older than the
 * version in the same message.
 *
 * @example
 *   const topology = createTopologyPanel();
 *   topology.render(JSON.parse(message)); // false (and nothing drawn) when it is not a topology
 */
import { el } from "./dom.js";
import { count as countOf, speed } from "./format.js";

const isObject = (v) => typeof v === "object" && v !== null && !Array.isArray(v);
const isCount = (v) => Number.isInteger(v) && v >= 0;
const isNumber = (v) => typeof v === "number" && Number.isFinite(v);
const shardList = (v) => (Array.isArray(v) && v.every(isCount) ? v : null);
const list = (v) => (Array.isArray(v) ? v : []);

/**
 * Checks the fields the panel cannot do without (version, phase, members) and normalises the rest;
 * null when the payload is not a topology. An unknown phase is kept: it is shown as sent.
 */
export function parseTopology(payload) {
  if (!isObject(payload)) return null;
  if (payload.kind !== undefined && payload.kind !== "topology") return null;
  const members = shardList(payload.members);
  if (!isCount(payload.version) || typeof payload.phase !== "string" || payload.phase === "" || !members) return null;
  const migration = isObject(payload.migration) ? { id: String(payload.migration.id ?? ""), kind: String(payload.migration.kind ?? "") } : null;
  return {
    version: payload.version,
    phase: payload.phase,
    members,
    target: shardList(payload.target),
    migration,
    instances: list(payload.instances).filter((i) => isObject(i) && typeof i.instance === "string"),
    progress: list(payload.progress).filter((p) => isObject(p) && (isCount(p.source) || typeof p.source === "string") && typeof p.table === "string"),
    verify: isObject(payload.verify) ? payload.verify : null,
    cleanup: isObject(payload.cleanup) ? payload.cleanup : null,
  };
}

// ---------------------------------------------------------------- formatting

const count = (v) => (isNumber(v) ? countOf(v) : "—");
const shards = (ids) => (ids.length ? ids.join(",") : "none");
const raw = (v) => (v === null || v === undefined ? "" : String(v));

function duration(seconds) {
  if (!isNumber(seconds) || seconds < 0) return "—";
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} m ${String(s % 60).padStart(2, "0")} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")} m`;
}

function errorText(error) {
  if (error === null || error === undefined || error === false || error === "") return "";
  if (typeof error === "string") return error;
  if (isObject(error) && typeof error.message === "string") return error.message;
  return JSON.stringify(error);
}


// ---------------------------------------------------------------- panel

export function createTopologyPanel(doc = document) {
  const $ = (id) => doc.getElementById(id);
  let updates = 0;

  function render(payload) {
    const t = parseTopology(payload);
    if (!t) return false;
    updates++;
    const migrating = t.phase !== "stable" || t.migration !== null;
    const card = $("topology-card");
    card.dataset.state = migrating ? "migrating" : "stable";
    card.dataset.phase = t.phase;
    card.dataset.version = String(t.version);

    const phase = $("topology-phase");
    phase.dataset.phase = t.phase;
    phase.textContent = t.phase;

    const version = $("topology-version");
    version.dataset.value = String(t.version);
    version.textContent = String(t.version);

    const members = $("topology-members");
    members.dataset.members = t.members.join(",");
    members.dataset.target = t.target ? t.target.join(",") : "";
    members.textContent = t.target ? `${shards(t.members)} → ${shards(t.target)}` : shards(t.members);
    members.title = members.textContent;

    const migration = $("topology-migration");
    migration.dataset.kind = t.migration?.kind ?? "";
    migration.dataset.id = t.migration?.id ?? "";
    migration.textContent = t.migration ? t.migration.kind || "?" : "none";
    migration.title = t.migration ? `migration ${t.migration.id}` : "";

    const ring = t.target ? `${shards(t.members)} → ${shards(t.target)}` : `shards ${shards(t.members)}`;
    $("topology-summary").textContent = migrating
      ? [t.migration ? `${t.migration.kind} ${t.migration.id}` : "no migration", t.phase, `ring v${t.version}`, ring].join(" · ")
      : `stable · ring v${t.version} · shards ${shards(t.members)}`;

    renderVerify(t.verify);
    renderCleanup(t.cleanup);
    renderProgress(t.progress, migrating);
    renderInstances(t.instances, t.version);
    return true;
  }

  function renderVerify(verify) {
    const dd = $("topology-verify");
    const differences = verify?.differences;
    dd.dataset.differences = raw(differences);
    dd.dataset.state = !verify ? "" : differences === 0 ? "ok" : "bad";
    dd.textContent = verify ? count(differences) : "—";
    const pairs = list(verify?.pairs).filter(isObject);
    dd.dataset.pairs = verify ? String(pairs.length) : "";
    dd.title = pairs.map((p) => `${raw(p.source)} → ${raw(p.target)} ${raw(p.table)}: ${count(p.count)} rows, checksum ${raw(p.checksum)}`).join("\n");
  }

  function renderCleanup(cleanup) {
    const dd = $("topology-cleanup");
    dd.dataset.deleted = raw(cleanup?.deleted);
    dd.textContent = cleanup ? count(cleanup.deleted) : "—";
  }

  // Rows are kept across pushes (keyed by source and table) so the bars glide instead of redrawing.
  function renderProgress(entries, migrating) {
    const root = $("topology-progress");
    if (entries.length === 0) {
      root.replaceChildren(el("p", { class: "muted", text: migrating ? "no copy progress reported" : "no copy in progress" }));
      return;
    }
    const current = [...root.children].filter((row) => row.dataset.key !== undefined);
    const byKey = new Map(current.map((row) => [row.dataset.key, row]));
    const rows = entries.map((p) => {
      const key = `${typeof p.step === "string" ? p.step : ""}/${p.source}/${p.table}`;
      const row = byKey.get(key) ?? progressRow(key, p);
      updateProgressRow(row, p);
      return row;
    });
    const sameOrder = rows.length === root.children.length && rows.every((row, i) => root.children[i] === row);
    if (!sameOrder) root.replaceChildren(...rows);
  }

  function progressRow(key, p) {
    const step = typeof p.step === "string" ? p.step : "";
    return el(
      "div",
      { class: "topo-progress-row", "data-key": key, "data-source": String(p.source), "data-table": p.table, "data-step": step },
      el("div", { class: "topo-progress-head" }, el("b", { text: [`shard ${p.source}`, p.table, step].filter(Boolean).join(" · ") }), el("span", { class: "chips" })),
      el("div", { class: "topo-bar-row" }, el("div", { class: "bar" }, el("div", { class: "bar-fill copy" })), el("span", { class: "bar-value" })),
    );
  }

  function updateProgressRow(row, p) {
    const done = p.done === true;
    row.dataset.done = String(done);
    row.dataset.scanned = raw(p.scanned);
    row.dataset.total = raw(p.total);
    row.dataset.moved = raw(p.moved);
    // Drawing only: the width is the backend's scanned over its total, never shown as a figure.
    const fill = isNumber(p.scanned) && isNumber(p.total) && p.total > 0 ? Math.min(1, Math.max(0, p.scanned / p.total)) : done ? 1 : 0;
    row.querySelector(".bar-fill").style.width = `${fill * 100}%`;
    row.querySelector(".bar-value").textContent = `${count(p.scanned)} / ${count(p.total)}`;
    const chip = (label, value, unit = "") => el("span", {}, ...(label ? [`${label} `] : []), el("b", { text: value }), unit);
    // Progress read back from checkpoints has no rate (only the running mover knows one): no chips then.
    const live = isNumber(p.rows_per_s) || isNumber(p.eta_s);
    row.querySelector(".chips").replaceChildren(
      chip("moved", count(p.moved)),
      ...(done ? [" · ", el("span", { class: "done", text: "done" })] : []),
      ...(!done && live ? [" · ", chip("", isNumber(p.rows_per_s) ? speed(p.rows_per_s) : "—", " rows/s"), " · ", chip("ETA", duration(p.eta_s))] : []),
    );
  }

  function renderInstances(instances, version) {
    const root = $("topology-instances");
    if (instances.length === 0) {
      root.replaceChildren(el("span", { class: "muted", text: "none reporting" }));
      return;
    }
    root.replaceChildren(
      ...instances.map((i) => {
        const acked = isCount(i.version) ? i.version : null;
        const live = i.live === true;
        const error = errorText(i.error);
        const behind = acked === null || acked < version;
        const state = !live ? "down" : error ? "error" : behind ? "behind" : "current";
        const marker = { down: "offline", error: "error", behind: "behind", current: "" }[state];
        const title = [
          `${i.instance}: acknowledged ring ${acked === null ? "?" : `v${acked}`}`,
          typeof i.phase === "string" ? `phase ${i.phase}` : "",
          isNumber(i.age_ms) ? `heard ${(i.age_ms / 1000).toFixed(1)} s ago` : "",
          live ? "" : "not live",
          error,
        ].filter(Boolean);
        return el(
          "span",
          {
            class: "instance topo-instance",
            "data-instance": i.instance,
            "data-version": raw(acked),
            "data-phase": typeof i.phase === "string" ? i.phase : "",
            "data-live": String(live),
            "data-behind": String(behind),
            "data-state": state,
            title: title.join(" · "),
          },
          i.instance,
          " ",
          el("b", { text: acked === null ? "v?" : `v${acked}` }),
          ...(marker ? [" ", el("span", { class: "marker", text: marker })] : []),
        );
      }),
    );
  }

  return {
    /** Draws a `topology` message or /api/topology body; false (nothing drawn) when it is not one. */
    render,
    /** How many payloads were drawn: lets a caller drop a fetched snapshot a push has overtaken. */
    get updates() {
      return updates;
    },
  };
}
