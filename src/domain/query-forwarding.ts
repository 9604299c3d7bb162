/**
 * The short URL's query string carried over to the target (a link's `forward_query`, on by
 * default, as Shlink does): `https://sho.rt/abc?utm_source=mail` redirects to the target with
 * `utm_source=mail` added. The target's own parameters win: a name it already has is not added
 * again. The QR marker (`qr=1`, see modules/links/qr-codes.ts) is ours and never forwarded.
 * Parameters are passed on as the request spelled them (no re-encoding), before the target's
 * fragment.
 */
export function forwardedQuery(target: string, requestUrl: string): string {
  const q = requestUrl.indexOf("?");
  if (q < 0 || q === requestUrl.length - 1) return target;
  const hash = target.indexOf("#");
  const base = hash < 0 ? target : target.slice(0, hash);
  const fragment = hash < 0 ? "" : target.slice(hash);
  const targetQuery = base.indexOf("?");
  const taken = new Set(targetQuery < 0 ? [] : [...new URLSearchParams(base.slice(targetQuery + 1)).keys()]);
  const added = requestUrl
    .slice(q + 1)
    .split("&")
    .filter((pair) => pair !== "" && pair !== "qr=1" && !taken.has(nameOf(pair)));
  if (added.length === 0) return target;
  const joiner = targetQuery < 0 ? "?" : base.endsWith("?") || base.endsWith("&") ? "" : "&";
  return `${base}${joiner}${added.join("&")}${fragment}`;
}

/** A raw `name=value` pair's name as URLSearchParams reads it ('+' is a space; bad escapes kept as they are). */
function nameOf(pair: string): string {
  const raw = pair.split("=", 1)[0]!.replace(/\+/g, " ");
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}
