/**
 * The dashboard's entry (index.html loads only this): it makes each part and wires the socket's
 * payloads to the part that draws them. This is the one place that knows who feeds whom; the
 * parts know only the page and what they are handed.
 *
 * Cache figures reach the page only through cache-metrics-service.js, from the backend's pushes;
 * nothing derives a rate or a count from the event stream.
 */
import { createAdminKey } from "./admin-key.js";
import { createCacheMetricsService } from "./cache-metrics-service.js";
import { createAudiencePanel } from "./audience-panel.js";
import { createClicksPanel } from "./clicks-panel.js";
import { createConnection } from "./connection.js";
import { createLinkForm } from "./create-form.js";
import { createEventFeed } from "./event-feed.js";
import { createMetricViews } from "./metric-views.js";
import { show } from "./dom.js";
import { createMetricsChart } from "./metrics-chart.js";
import { createTopologyPanel } from "./topology-panel.js";

// ~3 minutes at the default 1 s push; the chart's widest window is as many seconds.
const HISTORY_POINTS = 180;

const $ = (id) => document.getElementById(id);
const metrics = createCacheMetricsService({ historyLimit: HISTORY_POINTS });
const views = createMetricViews();
const chart = createMetricsChart({ maxWindowS: HISTORY_POINTS });
const clicks = createClicksPanel();
const audience = createAudiencePanel();
const topology = createTopologyPanel();
const feed = createEventFeed();
const adminKey = createAdminKey({
  storage: sessionStorage,
  card: $("key-card"),
  form: $("key-form"),
  input: $("key-input"),
  message: $("key-message"),
  onKey: () => connection.restart(),
});

// One listener each, so a fault in one view does not stop the others drawing.
metrics.subscribe(views.render);
metrics.subscribe((state) => chart.draw(state.series));
metrics.subscribe(clicks.render);
metrics.subscribe(audience.render);

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

// Abuse reports are counted by the backend (GET /api/admin/reports); asked every 10 s once the
// stream has accepted this page (an admin key, or a public server), never before: a closed
// dashboard without a key sends no request that would be refused.
const REPORTS_EVERY_MS = 10_000;
let reportsTimer = 0;
async function showReports() {
  // A locked page (no key, or a key just revoked) asks for nothing.
  if (document.getElementById("connection-status").dataset.state !== "connected") return;
  try {
    const response = await fetch("/api/admin/reports?limit=1", { cache: "no-store", headers: adminKey.headers() });
    if (!response.ok) return;
    const body = await response.json();
    show(document.getElementById("reports-total"), body.total, (n) => n.toLocaleString());
    const newest = body.reports[0];
    if (newest) document.getElementById("reports-latest").textContent = `newest: ${newest.code}: ${newest.reason}`;
  } catch {
    // Asked again at the next tick.
  }
}

const connection = createConnection({
  adminKey,
  handlers: {
    metrics: (message) => metrics.ingest(message),
    events: (events, skipped) => feed.add(events, skipped),
    topology: (message) => topology.render(message),
    subscribed: (topics) => {
      void primeMetrics();
      void showReports();
      reportsTimer ||= setInterval(() => void showReports(), REPORTS_EVERY_MS);
      if (topics.includes("topology")) void primeTopology();
    },
  },
});

createLinkForm({ onCreated: (code) => feed.highlight(code) });
connection.connect();
