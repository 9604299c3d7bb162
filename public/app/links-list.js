import { api } from "./api.js";
import { el } from "/dashboard/dom.js";

const PAGE = 20;

/**
 * The key's links, newest first: the search box (`q`) and the tag filter ask the API, which
 * searches every shard; "Load more" follows the cursor. Each row offers copy, edit, QR, stats
 * and delete through `actions`.
 */
export function linksList(root, actions) {
  const list = root.querySelector("#link-list");
  const more = root.querySelector("#load-more");
  const empty = root.querySelector("#list-empty");
  const search = root.querySelector("#search");
  const tagFilter = root.querySelector("#tag-filter");
  let cursor = null;
  let generation = 0;
  let debounce = 0;

  const query = () => {
    const params = new URLSearchParams({ limit: String(PAGE) });
    if (search.value.trim() !== "") params.set("q", search.value.trim());
    if (tagFilter.value !== "") params.set("tag", tagFilter.value);
    if (cursor !== null) params.set("cursor", cursor);
    return params;
  };

  async function page(reset) {
    const mine = reset ? ++generation : generation;
    if (reset) cursor = null;
    root.querySelector("#list-error").textContent = "";
    try {
      const body = await api("GET", `/api/links?${query()}`);
      if (mine !== generation) return;
      if (reset) list.replaceChildren();
      list.append(...body.links.map((link) => row(link, actions)));
      cursor = body.next_cursor;
      more.hidden = cursor === null;
      empty.hidden = list.children.length > 0;
      empty.textContent = search.value.trim() !== "" || tagFilter.value !== "" ? "No links match." : "No links yet: make one with New link.";
    } catch (e) {
      if (mine === generation) actions.failed(e);
    }
  }

  async function tags() {
    const chosen = tagFilter.value;
    const body = await api("GET", "/api/tags").catch(() => ({ tags: [] }));
    tagFilter.replaceChildren(el("option", { value: "", text: "All tags" }), ...body.tags.map((t) => el("option", { value: t.tag, text: `${t.tag} (${t.links})` })));
    tagFilter.value = body.tags.some((t) => t.tag === chosen) ? chosen : "";
  }

  search.addEventListener("input", () => {
    clearTimeout(debounce);
    debounce = setTimeout(() => void page(true), 250);
  });
  root.querySelector("#filters").addEventListener("submit", (e) => {
    e.preventDefault();
    void page(true);
  });
  tagFilter.addEventListener("change", () => void page(true));
  more.addEventListener("click", () => void page(false));
  return {
    reload: () => Promise.all([page(true), tags()]),
    clear() {
      generation++;
      list.replaceChildren();
      search.value = "";
    },
  };
}

function row(link, actions) {
  const expiry = link.expires_at ? `expires ${new Date(link.expires_at).toLocaleString()}` : null;
  const budget = link.max_visits === null ? null : `${link.visits}/${link.max_visits} visits`;
  const item = el(
    "li",
    { class: "link", "data-code": link.short_code },
    el(
      "div",
      { class: "top" },
      el("a", { class: "short", href: link.short_url, target: "_blank", rel: "noopener", text: link.short_url }),
      link.title ? el("strong", { class: "title", text: link.title }) : "",
      ...link.tags.map((t) => el("span", { class: "tag", text: t })),
    ),
    el("div", { class: "target", text: link.long_url }),
    el(
      "div",
      { class: "meta" },
      el("span", { class: "clicks", "data-value": String(link.humans ?? ""), text: link.humans === undefined ? "" : `${link.humans} human clicks` }),
      el("span", { text: `created ${new Date(link.created_at).toLocaleDateString()}` }),
      expiry ? el("span", { text: expiry }) : "",
      budget ? el("span", { text: budget }) : "",
    ),
  );
  const button = (label, name, handler) => {
    const b = el("button", { type: "button", "data-action": name, "aria-label": `${label} ${link.short_url}`, text: label });
    b.addEventListener("click", () => handler(link, b));
    return b;
  };
  item.append(
    el(
      "div",
      { class: "actions" },
      button("Copy", "copy", actions.copy),
      button("Edit", "edit", actions.edit),
      button("QR", "qr", actions.qr),
      button("Stats", "stats", actions.stats),
      button("Delete", "delete", actions.remove),
    ),
  );
  return item;
}
