/**
 * The "Cluster over time" chart: the backend's cluster hit rate (left axis) and requests per second
 * (right axis) for the pushes cache-metrics-service.js keeps. Drawn on a canvas, redrawn on every
 * push and on resize.
 *
 * @example
 *   const chart = createMetricsChart({ maxWindowS: 180 });
 *   metrics.subscribe((state) => chart.draw(state.series));
 */
const GAP_MS = 5000; // pushes further apart than this mean the server was down

// A round axis maximum (1, 2, 5 × 10^n) so the right-hand labels are readable.
function niceMax(value) {
  if (value <= 0) return 10;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (value <= step * power) return step * power;
  return 10 * power;
}

function compact(n) {
  return n >= 1000 ? `${(n / 1000).toFixed(n >= 10_000 ? 0 : 1)}k` : String(Math.round(n));
}

// Splits the series where pushes stopped (server down), so the gap shows instead of a ramp.
function runs(series) {
  const out = [];
  let current = [];
  for (const p of series) {
    if (current.length && p.at - current[current.length - 1].at > GAP_MS) {
      out.push(current);
      current = [];
    }
    current.push(p);
  }
  if (current.length) out.push(current);
  return out;
}

/** `maxWindowS`: the widest window shown, in seconds; the history length at one push a second. */
export function createMetricsChart({ maxWindowS }) {
  const canvas = document.getElementById("metrics-chart");
  const empty = document.getElementById("chart-empty");
  const ctx = canvas.getContext("2d");
  let lastSeries = [];

  // Colours come from the stylesheet, so the chart follows the page's palette.
  const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

  function draw(series = lastSeries) {
    lastSeries = series;
    empty.hidden = series.length > 0;
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

    const end = series.length ? series[series.length - 1].at : Date.now();
    // The window grows with the history (30 s up to maxWindowS) so a fresh page is not a sliver at the edge.
    const spanS = series.length ? (end - series[0].at) / 1000 : 0;
    const windowS = Math.min(maxWindowS, Math.max(30, Math.ceil(spanS / 30) * 30));
    const windowMs = windowS * 1000;
    const x = (at) => pad.left + plotW - ((end - at) / windowMs) * plotW;
    const rpsMax = niceMax(Math.max(0, ...series.map((p) => p.requests_per_s)));
    const yRate = (rate) => pad.top + plotH - rate * plotH;
    const yRps = (rps) => pad.top + plotH - (rps / rpsMax) * plotH;

    ctx.font = `11px ${css("--mono") || "monospace"}`;
    ctx.lineWidth = 1;
    ctx.strokeStyle = css("--grid");
    ctx.fillStyle = css("--muted");
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
      // A lone point (a push between gaps) would draw nothing as a line: a dot instead.
      if (run.length === 1) ctx.arc(x(run[0].at), y(run[0]), width, 0, Math.PI * 2);
      ctx.stroke();
    }
  }

  new ResizeObserver(() => draw()).observe(canvas);
  return { draw };
}
