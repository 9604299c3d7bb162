/**
 * The "Live events" table: the reads, writes, updates and deletes the server reports, newest first,
 * with its filters, pause and clear. It holds the `feed` topic, the latest events of each of the
 * server's flushes (a table shows 200 rows; under load the rest would be thrown away here after
 * costing the server and the network), and says how many the server did not send. It shows each
 * event as sent and counts nothing from them: the cache figures come from the metrics pushes alone.
 *
 * The filter checkboxes in index.html are the list of types and statuses the table knows; an event
 * of a kind they do not list is not shown, so a new kind is added there.
 *
 * @example
 *   const feed = createEventFeed();
 *   feed.add(message.events, message.skipped);
 */
import { el } from "./dom.js";
import { clock } from "./format.js";

const FEED_ROWS = 200; // rows in the DOM: enough to read, few enough to re-render every frame
const FEED_BUFFER = 1000; // events kept in memory so filter changes can refill the table
const FLASH_MAX = 5; // a batch larger than this is shown without the flash

const $ = (id) => document.getElementById(id);

// A hot-link (memory) hit is a HIT like a Redis one; only its source label differs.
const cacheOf = (e) => e.cache ?? (e.source === "memory" || e.source === "redis" ? "HIT" : undefined);

// Reads name the cache answer and where the link came from; the other types touch the primary only.
function whereCell(e) {
  if (e.type !== "read") return el("td", { text: e.db ?? "—" });
  return el("td", {}, el("span", { class: `pill ${cacheOf(e)}`, text: cacheOf(e) ?? "?" }), " ", el("span", { class: "source", "data-source": e.source ?? "", text: e.source ?? "" }), e.db ? ` · ${e.db}` : "");
}

export function createEventFeed() {
  const body = $("event-feed");
  const boxes = [...$("feed-filters").querySelectorAll('input[type="checkbox"]')];
  const known = (name) => new Set(boxes.filter((b) => b.name === name).map((b) => b.value));
  const checked = (name) => new Set(boxes.filter((b) => b.name === name && b.checked).map((b) => b.value));
  const types = known("type");
  const statuses = known("status");
  const filter = { types: checked("type"), statuses: checked("status"), code: "" };
  let buffer = []; // newest first
  let pending = []; // oldest first, as received
  let scheduled = false;
  let paused = false;
  let highlight = "";
  let notSent = 0;

  const isEvent = (e) => e && typeof e === "object" && types.has(e.type) && statuses.has(e.status);
  const matches = (item) => filter.types.has(item.e.type) && filter.statuses.has(item.e.status) && (!filter.code || String(item.e.short_code ?? "").includes(filter.code));

  function add(events, skipped = 0) {
    notSent += skipped;
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
    const flash = visible.length <= FLASH_MAX;
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
    $("feed-count").textContent = `${body.rows.length} shown · ${buffer.length} buffered${notSent > 0 ? ` · ${notSent} more not sent (only the latest of each batch are)` : ""}`;
  }

  function row({ e, at }, fresh) {
    const tr = document.createElement("tr");
    tr.dataset.type = e.type;
    tr.dataset.status = e.status;
    tr.dataset.code = e.short_code ?? "";
    tr.dataset.source = e.source ?? "";
    tr.dataset.eventId = e.event_id ?? "";
    if (fresh) tr.className = "fresh";
    if (highlight && e.short_code === highlight) tr.dataset.highlight = "true";
    tr.append(
      el("td", { class: "mono", text: clock(at) }),
      el("td", {}, el("span", { class: `pill ${e.type}`, text: e.type })),
      el("td", {}, el("span", { class: `pill ${e.status}`, text: e.status })),
      el("td", { class: "code", text: e.short_code ?? "—", title: e.short_code ?? "" }),
      whereCell(e),
      el("td", { class: "mono", text: e.node ?? "" }),
      el("td", { class: "num mono", text: typeof e.latency_ms === "number" ? `${e.latency_ms.toFixed(1)} ms` : "—" }),
    );
    return tr;
  }

  for (const input of boxes) {
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
    notSent = 0;
    renderAll();
  });

  return {
    add,
    /** Marks the rows of one code (the link just made with the form), now and as they arrive. */
    highlight(code) {
      highlight = code;
      for (const tr of body.rows) {
        if (tr.dataset.code === code) tr.dataset.highlight = "true";
        else delete tr.dataset.highlight;
      }
    },
  };
}
