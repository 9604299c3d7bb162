/**
 * The "Shorten a link" card: makes a link with POST /create and follows it, so a visitor can watch
 * its write and then its reads arrive in the feed.
 *
 * @example
 *   createLinkForm({ onCreated: (code) => feed.highlight(code) });
 */
const $ = (id) => document.getElementById(id);

function say(text, kind = "") {
  const message = $("create-message");
  message.textContent = text;
  message.dataset.kind = kind;
}

export function createLinkForm({ onCreated }) {
  let created = null;

  $("create-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = $("create-submit");
    button.disabled = true;
    say("");
    try {
      const response = await fetch("/create", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ url: $("create-url").value.trim() }),
      });
      const body = await response.json().catch(() => null);
      if (!response.ok || !body?.short_code) {
        say(body?.error?.message ?? `the server answered ${response.status}`, "error");
        return;
      }
      created = body;
      const link = $("created-link");
      link.href = body.short_url;
      link.textContent = body.short_url;
      $("created-long").textContent = `→ ${body.long_url}`;
      $("create-result").hidden = false;
      onCreated(body.short_code);
      say(body.created ? "Created: watch the write in the feed, then follow it." : "Already shortened: same code as before.", "ok");
    } catch {
      say("The server did not answer; check the connection status.", "error");
    } finally {
      button.disabled = false;
    }
  });

  // The redirect is fetched, not followed: the read happens and shows in the feed, while the long
  // URL (another origin, maybe unreachable from here) is never loaded.
  $("follow-button").addEventListener("click", async () => {
    if (!created) return;
    try {
      const response = await fetch(`/${encodeURIComponent(created.short_code)}`, { redirect: "manual", cache: "no-store" });
      say(response.type === "opaqueredirect" ? "Followed: the redirect was served; watch the read in the feed." : `Followed: the server answered ${response.status}.`, "ok");
    } catch {
      say("The server did not answer; check the connection status.", "error");
    }
  });
}
