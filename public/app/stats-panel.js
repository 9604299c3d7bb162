import { api } from "./api.js";
import { el } from "/dashboard/dom.js";
import { filled, seriesChart } from "./svg-chart.js";

/** The breakdowns a link's stats show, in this order, with their headings. */
const DIMENSIONS = ["country", "referrer", "device", "browser", "os", "source"];
const HEADINGS = { country: "Country", referrer: "Referrer", device: "Device", browser: "Browser", os: "OS", source: "Source (QR or link)" };

/**
 * A link's stats as the backend computed them: totals (humans, bots, unique visitors), clicks
 * over time for a range and granularity, and the breakdowns. Nothing is counted in the page.
 */
export function statsPanel(dialog) {
  const days = dialog.querySelector("#range-days");
  const granularity = dialog.querySelector("#granularity");
  let code = null;
  let loading = 0;

  async function load() {
    if (code === null) return;
    const ticket = ++loading;
    const to = new Date(Math.ceil(Date.now() / 3_600_000) * 3_600_000);
    const from = new Date(to.getTime() - Number(days.value) * 86_400_000);
    const range = `from=${from.toISOString()}&to=${to.toISOString()}`;
    const [stats, ...breakdowns] = await Promise.all([
      api("GET", `/api/links/${encodeURIComponent(code)}/stats?granularity=${granularity.value}&${range}`),
      ...DIMENSIONS.map((d) => api("GET", `/api/links/${encodeURIComponent(code)}/stats/${d}?limit=8&${range}`)),
    ]);
    if (ticket !== loading) return;
    for (const [id, value] of [["s-total", stats.total], ["s-humans", stats.humans], ["s-bots", stats.bots], ["s-unique", stats.unique_visitors]]) {
      const node = dialog.querySelector(`#${id}`);
      node.dataset.value = String(value);
      node.textContent = value.toLocaleString();
    }
    const chart = dialog.querySelector("#s-chart");
    chart.querySelector("svg")?.remove();
    chart.append(seriesChart(filled(stats.series, stats.granularity, from, to), stats.granularity));
    dialog.querySelector("#s-breakdowns").replaceChildren(...breakdowns.map((b, i) => breakdown(DIMENSIONS[i], b)));
  }

  days.addEventListener("change", () => void load());
  granularity.addEventListener("change", () => void load());
  return {
    async open(link) {
      code = link.short_code;
      dialog.querySelector("#stats-title").textContent = `Stats of ${link.short_url}`;
      dialog.querySelector("#s-live").replaceChildren();
      if (!dialog.open) dialog.showModal();
      await load();
    },
    /** A click on the open link, live: shown, and the figures fetched again. */
    click(event) {
      if (code === null || event.short_code !== code || !dialog.open) return;
      const at = new Date().toLocaleTimeString();
      dialog.querySelector("#s-live").prepend(el("li", { class: "live-click", "data-code": event.short_code, text: `${at} · ${event.source ?? ""} ${event.latency_ms.toFixed(1)} ms` }));
      void load();
    },
    close() {
      code = null;
    },
  };
}

function breakdown(dimension, b) {
  const max = Math.max(1, ...b.items.map((i) => i.clicks));
  return el(
    "section",
    { class: "breakdown", "data-dimension": dimension },
    el("h4", { text: HEADINGS[dimension] }),
    el(
      "ol",
      {},
      ...b.items.map((item) => {
        const li = el("li", { "data-value": item.value, "data-clicks": String(item.clicks) }, el("span", { text: item.value }), el("span", { text: `${item.clicks} (${item.humans} humans)` }));
        li.style.setProperty("--share", `${Math.round((100 * item.clicks) / max)}%`);
        return li;
      }),
    ),
  );
}
