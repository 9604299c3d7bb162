/**
 * The Audience panel: humans vs bots and the top countries, referrers and devices of the
 * cluster's clicks, as the backend's click analytics sums them in every metrics push
 * (`cluster.audience`; cache-metrics-service.js has checked its shape). It computes nothing: the
 * human share and bar widths are only for drawing what the backend sent.
 *
 * @example
 *   const audience = createAudiencePanel();
 *   metrics.subscribe((state) => audience.render(state));
 */
import { el, show } from "./dom.js";
import { count } from "./format.js";

const DIMENSIONS = ["country", "referrer", "device"];

export function createAudiencePanel(doc = document) {
  const $ = (id) => doc.getElementById(id);

  function render(state) {
    const audience = state.cluster?.audience ?? null;
    const empty = $("audience-empty");
    if (empty) empty.hidden = audience !== null;
    if (!audience) return;
    show($("audience-humans"), audience.humans, count);
    show($("audience-bots"), audience.bots, count);
    const total = audience.humans + audience.bots;
    const fill = $("audience-human-fill");
    if (fill) fill.style.width = `${total === 0 ? 0 : (audience.humans / total) * 100}%`;
    for (const d of DIMENSIONS) renderList($(`audience-${d}`), audience.top[d]);
  }

  function renderList(list, items) {
    if (!list) return;
    const top = Math.max(1, ...items.map((t) => t.clicks));
    list.replaceChildren(
      ...items.map((t) => {
        const fill = el("span", { class: "bar-fill audience-bar" });
        fill.style.width = `${(t.clicks / top) * 100}%`;
        return el("li", { "data-value": t.value, "data-clicks": String(t.clicks) }, el("span", { class: "audience-value", text: t.value, title: t.value }), el("span", { class: "bar" }, fill), el("span", { class: "num mono", text: count(t.clicks) }));
      }),
    );
  }

  return { render };
}
