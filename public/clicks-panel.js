/**
 * The Clicks panel: clicks per second, clicks counted, and the most clicked links right now, as
 * the backend sends them in every metrics push (`cluster` and `instance` carry clicks_per_s,
 * clicks_total and top_links; cache-metrics-service.js has already checked their shape).
 *
 * Like the other views it computes no figure of its own: a row's bar width (its clicks over the
 * first row's) is only for drawing. Rows are kept across pushes, keyed by code, so a link is not
 * replaced under the pointer every second.
 *
 * @example
 *   const clicks = createClicksPanel();
 *   metrics.subscribe((state) => clicks.render(state));
 */
import { el, show } from "./dom.js";
import { count, speed } from "./format.js";

export function createClicksPanel(doc = document) {
  const $ = (id) => doc.getElementById(id);

  function render(state) {
    const { cluster, instance } = state;
    if (!cluster || !instance) return;
    show($("cluster-clicks-per-s"), cluster.clicks_per_s, speed);
    show($("cluster-clicks-total"), cluster.clicks_total, count);
    show($("instance-clicks-per-s"), instance.clicks_per_s, speed);
    show($("instance-clicks-total"), instance.clicks_total, count);
    renderTop(cluster.top_links);
  }

  function renderTop(links) {
    const body = $("top-links");
    const empty = $("top-links-empty");
    if (!body) return;
    if (empty) {
      empty.hidden = links !== null && links.length > 0;
      empty.textContent = links === null ? "this server does not report clicks" : "no recent clicks";
    }
    const list = links ?? [];
    const byCode = new Map([...body.rows].map((tr) => [tr.dataset.code, tr]));
    const top = Math.max(1, ...list.map((t) => t.clicks));
    const rows = list.map((t, i) => {
      const tr = byCode.get(t.code) ?? row(t.code);
      tr.dataset.clicks = String(t.clicks);
      tr.dataset.rank = String(i + 1);
      tr.cells[0].textContent = String(i + 1);
      tr.querySelector(".top-bar-fill").style.width = `${(t.clicks / top) * 100}%`;
      tr.querySelector(".top-clicks").textContent = count(t.clicks);
      return tr;
    });
    const sameOrder = rows.length === body.rows.length && rows.every((tr, i) => body.rows[i] === tr);
    if (!sameOrder) body.replaceChildren(...rows);
  }

  // The code is shown with textContent and linked by path: it comes from the backend, but it is
  // still a string from a URL. Opening it is a real redirect, so it counts as one more click.
  function row(code) {
    const link = el("a", { href: `/${encodeURIComponent(code)}`, target: "_blank", rel: "noopener", title: `open /${code} (counts as a click)`, text: code });
    return el(
      "tr",
      { "data-code": code },
      el("td", { class: "num muted" }),
      el("td", { class: "code" }, link),
      el("td", { class: "top-bar-cell" }, el("div", { class: "bar" }, el("div", { class: "bar-fill top-bar-fill" }))),
      el("td", { class: "num mono top-clicks" }),
    );
  }

  return { render };
}
