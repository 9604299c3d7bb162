/**
 * The few HTML pages the redirect answers a person with (a protected link's password form, a
 * disabled or blocked link's notice): small, not indexed, not cached, sending no referrer. Every value put
 * in them is escaped.
 */
export const PAGE_HEADERS = { "content-type": "text/html; charset=utf-8", "cache-control": "no-store", "x-robots-tag": "noindex", "referrer-policy": "no-referrer" };

/** A browser asked for the page (its Accept names HTML); anything else is an API client. */
export const wantsHtml = (request: Request) => (request.headers.get("accept") ?? "").includes("text/html");

export function passwordPage(action: string, wrong: boolean): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex">
<title>Password needed</title>
<style>body{font-family:system-ui,sans-serif;display:grid;place-items:center;min-height:90vh;margin:0}form{display:grid;gap:.6rem;width:min(20rem,90vw)}input,button{font:inherit;padding:.5rem}.error{color:#b3261e}</style></head>
<body><form method="post" action="${escapeHtml(action)}">
<h1>This link needs a password</h1>
${wrong ? '<p class="error" role="alert">That password is not right.</p>' : ""}
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required autofocus>
<button type="submit">Continue</button>
</form></body></html>`;
}

/** The 410 a browser gets for a link the operators disabled, saying why. */
export function disabledPage(message: string): Response {
  return noticePage(410, "Link disabled", "This link has been disabled", message);
}

/** The 451 a browser gets for a link whose target the operators block. */
export function blockedPage(message: string): Response {
  return noticePage(451, "Link blocked", "This link leads to a blocked site", message);
}

function noticePage(status: number, title: string, heading: string, message: string): Response {
  const body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex"><title>${title}</title></head>
<body style="font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem"><h1>${heading}</h1><p>${escapeHtml(message)}</p></body></html>`;
  return new Response(body, { status, headers: PAGE_HEADERS });
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
