/**
 * Clicks over time as stacked SVG bars (humans, then bots on top), drawn by hand: one chart,
 * small enough not to need a library. Each bar carries its figures in data-* attributes and a
 * <title>, so the numbers behind the picture can be read back.
 */
const NS = "http://www.w3.org/2000/svg";

function node(tag, attrs = {}, text) {
  const n = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, String(v));
  if (text !== undefined) n.textContent = text;
  return n;
}

/**
 * The backend's series with a zero for every hour or day of [from, to) it has no row for: the
 * API lists only buckets with clicks, and a chart's time axis needs the gaps.
 */
export function filled(series, granularity, from, to) {
  const step = granularity === "hour" ? 3_600_000 : 86_400_000;
  const byAt = new Map(series.map((p) => [new Date(p.at).getTime(), p]));
  const out = [];
  for (let t = Math.floor(from.getTime() / step) * step; t < to.getTime(); t += step) out.push(byAt.get(t) ?? { at: new Date(t).toISOString(), clicks: 0, humans: 0, bots: 0, unique_visitors: 0 });
  return out;
}

export function seriesChart(series, granularity) {
  const width = 640;
  const height = 180;
  const pad = { left: 34, right: 6, top: 8, bottom: 22 };
  const max = Math.max(1, ...series.map((p) => p.clicks));
  const svg = node("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": `clicks per ${granularity}`, "data-total": series.reduce((s, p) => s + p.clicks, 0) });
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const step = plotW / Math.max(1, series.length);
  const y = (v) => pad.top + plotH - (v / max) * plotH;
  svg.append(node("text", { x: 2, y: pad.top + 8 }, String(max)), node("text", { x: 2, y: pad.top + plotH }, "0"));
  series.forEach((p, i) => {
    const x = pad.left + i * step + step * 0.1;
    const w = Math.max(1, step * 0.8);
    const unclassified = p.clicks - p.humans - p.bots;
    const g = node("g", { class: "point", "data-at": p.at, "data-clicks": p.clicks, "data-humans": p.humans, "data-bots": p.bots });
    g.append(node("title", {}, `${label(p.at, granularity)}: ${p.clicks} clicks, ${p.humans} humans, ${p.bots} bots`));
    g.append(node("rect", { class: "bar-h", x, y: y(p.humans + unclassified), width: w, height: (plotH * (p.humans + unclassified)) / max }));
    g.append(node("rect", { class: "bar-b", x, y: y(p.clicks), width: w, height: (plotH * p.bots) / max }));
    svg.append(g);
  });
  const ticks = Math.min(series.length, 6);
  for (let t = 0; t < ticks; t++) {
    const i = Math.round((t * (series.length - 1)) / Math.max(1, ticks - 1));
    svg.append(node("text", { x: pad.left + i * step, y: height - 6 }, label(series[i].at, granularity)));
  }
  return svg;
}

/** UTC, as the API's buckets are: `12-06` for a day, `12-06 14h` for an hour. */
function label(at, granularity) {
  const iso = new Date(at).toISOString();
  return granularity === "hour" ? `${iso.slice(5, 10)} ${iso.slice(11, 13)}h` : iso.slice(5, 10);
}
