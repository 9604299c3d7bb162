import { api, ApiError, session } from "./api.js";
import { linkForm } from "./link-form.js";
import { linksList } from "./links-list.js";
import { liveClicks } from "./live-clicks.js";
import { qrPanel } from "./qr-panel.js";
import { statsPanel } from "./stats-panel.js";

/**
 * The page for link owners: sign in with an API key, then find, create, edit and delete the
 * key's links, their QR codes and their stats. Everything shown comes from the API.
 */
const $ = (selector) => document.querySelector(selector);
const signIn = $("#sign-in");
const links = $("#links");
let live = null;

const stats = statsPanel($("#stats-dialog"));
$("#stats-dialog").addEventListener("close", () => stats.close());
$("#stats-dialog [data-close]").addEventListener("click", () => $("#stats-dialog").close());
const qr = qrPanel($("#qr-dialog"));
const list = linksList(links, {
  copy: async (link, button) => {
    await navigator.clipboard.writeText(link.short_url).catch(() => {});
    button.textContent = "Copied";
    setTimeout(() => (button.textContent = "Copy"), 1500);
  },
  edit: (link) => form.open(link),
  qr: (link) => void qr.open(link).catch(failed),
  stats: (link) => void stats.open(link).catch(failed),
  remove: (link) => confirmDelete(link),
  failed: (error) => failed(error),
});
const form = linkForm($("#link-dialog"), () => void list.reload());

/** An answer that means the key no longer works locks the page; others are shown where they happened. */
function failed(error) {
  if (error instanceof ApiError && error.status === 401) lock(error.message);
  else $("#list-error").textContent = error.message;
}

function confirmDelete(link) {
  const dialog = $("#confirm-dialog");
  $("#confirm-text").textContent = `${link.short_url} → ${link.long_url} will stop redirecting. This cannot be undone.`;
  dialog.returnValue = "";
  dialog.showModal();
  dialog.addEventListener(
    "close",
    async () => {
      if (dialog.returnValue !== "delete") return;
      try {
        await api("DELETE", `/api/links/${encodeURIComponent(link.short_code)}`);
        await list.reload();
      } catch (error) {
        failed(error);
      }
    },
    { once: true },
  );
}

async function enter(key) {
  // A cheap call that needs the key: a wrong or revoked one is refused here, with the reason.
  await api("GET", "/api/links?limit=1", undefined, key);
  session.set(key);
  signIn.hidden = true;
  links.hidden = false;
  $("#sign-out").hidden = false;
  $("#who").textContent = `key ${key.split("_")[1] ?? ""}…`;
  live = liveClicks(key, (event) => stats.click(event), () => api("GET", "/api/links?limit=1").catch(failed));
  await list.reload();
}

function lock(message = "") {
  session.forget();
  live?.stop();
  live = null;
  list.clear();
  for (const d of document.querySelectorAll("dialog[open]")) d.close();
  links.hidden = true;
  $("#sign-out").hidden = true;
  $("#who").textContent = "";
  signIn.hidden = false;
  $("#sign-in-error").textContent = message;
  $("#api-key").value = "";
  $("#api-key").focus();
}

$("#sign-in-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const key = $("#api-key").value.trim();
  if (key === "") {
    $("#sign-in-error").textContent = "Paste an API key.";
    return;
  }
  try {
    await enter(key);
  } catch (error) {
    $("#sign-in-error").textContent = error instanceof ApiError && error.status === 401 ? `This key was refused: ${error.message}` : error.message;
  }
});
$("#sign-out").addEventListener("click", () => lock());
$("#new-link").addEventListener("click", () => form.open());
document.addEventListener("visibilitychange", () => {
  // A key revoked while the tab was away locks the page when it comes back.
  if (document.visibilityState === "visible" && session.key) api("GET", "/api/links?limit=1").catch(failed);
});

const saved = session.key;
if (saved) enter(saved).catch((error) => lock(error instanceof ApiError && error.status === 401 ? `This key was refused: ${error.message}` : error.message));
else lock();
