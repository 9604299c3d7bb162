import { api, ApiError } from "./api.js";

/** Which field an API error message is about: its first word names it (zod's messages do). */
const FIELD_OF = [
  [/^(url|long_url|body needs a url)/, "url"],
  [/^alias/, "alias"],
  [/^title/, "title"],
  [/^(tags|each tag|at most \d+ tags)/, "tags"],
  [/^expires_at/, "expires_at"],
  [/^max_visits/, "max_visits"],
];

export function fieldOf(error) {
  if (error instanceof ApiError && (error.code === "invalid-url" || error.code === "url-not-allowed")) return "url";
  if (error instanceof ApiError && error.code === "alias-taken") return "alias";
  return FIELD_OF.find(([pattern]) => pattern.test(error.message))?.[1] ?? "form";
}

/**
 * The create and edit form: what it sends is what the API takes, and an error the API answers is
 * shown beside the field it names (focus moves there), or above the buttons.
 */
export function linkForm(dialog, onSaved) {
  const form = dialog.querySelector("#link-form");
  const title = dialog.querySelector("#link-dialog-title");
  let editing = null;

  const clearErrors = () => form.querySelectorAll(".error").forEach((p) => (p.textContent = ""));
  const value = (name) => form.elements[name].value.trim();

  function body() {
    const tags = value("tags") === "" ? [] : value("tags").split(",").map((t) => t.trim()).filter((t) => t !== "");
    const out = { url: value("url"), title: value("title") === "" ? (editing ? null : undefined) : value("title"), tags: editing || tags.length > 0 ? tags : undefined };
    const expires = value("expires_at");
    if (expires !== "") out.expires_at = new Date(expires).toISOString();
    else if (editing) out.expires_at = null;
    const max = value("max_visits");
    if (max !== "") out.max_visits = Number(max);
    else if (editing) out.max_visits = null;
    if (!editing && value("alias") !== "") out.alias = value("alias");
    return out;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors();
    try {
      const saved = editing ? await api("PATCH", `/api/links/${encodeURIComponent(editing.short_code)}`, body()) : await api("POST", "/create", body());
      dialog.close();
      onSaved(saved);
    } catch (error) {
      const field = fieldOf(error);
      form.querySelector(`.error[data-for="${field}"]`).textContent = error.message;
      (form.elements[field] ?? form.querySelector("#link-save")).focus();
    }
  });
  dialog.querySelector("[data-close]").addEventListener("click", () => dialog.close());

  return {
    open(link = null) {
      editing = link;
      form.reset();
      clearErrors();
      title.textContent = link ? `Edit ${link.short_url}` : "New link";
      form.querySelectorAll("[data-create-only]").forEach((f) => (f.hidden = link !== null));
      if (link) {
        form.elements.url.value = link.long_url;
        form.elements.title.value = link.title ?? "";
        form.elements.tags.value = link.tags.join(", ");
        form.elements.max_visits.value = link.max_visits ?? "";
        if (link.expires_at) form.elements.expires_at.value = localInput(new Date(link.expires_at));
      }
      dialog.showModal();
      form.elements.url.focus();
    },
  };
}

/** A datetime-local input's value for a date, in the browser's time zone. */
function localInput(date) {
  const local = new Date(date.getTime() - date.getTimezoneOffset() * 60_000);
  return local.toISOString().slice(0, 16);
}
