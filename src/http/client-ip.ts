/**
 * The client's address for rate limiting. X-Forwarded-For is believed only when the TCP peer is
 * a trusted proxy (HAProxy); then the right-most address that is not itself a trusted proxy is
 * the client (entries left of it were written by the client and can be forged).
 *
 * @example clientIp("10.0.0.2", "198.51.100.7, 10.0.0.2", ["10.0.0.2"]) === "198.51.100.7"
 */
export function clientIp(peer: string | undefined, forwardedFor: string | null, trustedProxies: readonly string[]): string {
  const direct = normalizeIp(peer ?? "unknown");
  if (!forwardedFor || !trustedProxies.includes(direct)) return direct;
  const hops = forwardedFor.split(",").map((s) => normalizeIp(s.trim())).filter((s) => s.length > 0);
  for (let i = hops.length - 1; i >= 0; i--) {
    if (!trustedProxies.includes(hops[i]!)) return hops[i]!;
  }
  return direct;
}

/** Bun reports IPv4 peers on a dual-stack socket as ::ffff:a.b.c.d. */
function normalizeIp(ip: string): string {
  return ip.startsWith("::ffff:") && ip.includes(".") ? ip.slice(7) : ip;
}
