/**
 * Which URLs point back at this service (a short link to them would loop). Compared after the
 * URL parser's normalisation (it turns 0x7f.1, 2130706433 and 127.1 into 127.0.0.1, lowercases
 * hosts and writes IPv6 compressed), on host and effective port:
 * - the public base URL's host and port;
 * - the listen address and port, and when it is loopback or a wildcard (0.0.0.0, ::) every
 *   loopback spelling: localhost and *.localhost, 127.0.0.0/8, ::1, and IPv4-mapped ::ffff:127.x;
 *   a wildcard adds the machine's own addresses (passed in, so this stays pure);
 * - extra host names the deployment answers on (OWN_HOSTNAMES), on any port.
 *
 * @example
 *   const isOwn = ownHostRule({ publicBaseUrl: "https://sho.rt", host: "0.0.0.0", port: 8080, extraHosts: [], localAddresses: ["10.0.0.5"] });
 *   isOwn(new URL("http://[::ffff:127.0.0.1]:8080/x")) // true
 */
export interface OwnHostOptions {
  publicBaseUrl: string;
  host: string;
  port: number;
  extraHosts: readonly string[];
  localAddresses: readonly string[];
}

export function ownHostRule(options: OwnHostOptions): (url: URL) => boolean {
  const pub = new URL(options.publicBaseUrl);
  const publicHost = strip(pub.hostname);
  const publicPort = effectivePort(pub);
  const listen = strip(bracketless(options.host.toLowerCase()));
  const wildcard = listen === "0.0.0.0" || listen === "::";
  const loopbackListen = wildcard || isLoopback(listen);
  const local = new Set(options.localAddresses.map((a) => strip(bracketless(a.toLowerCase()))));
  const extra = new Set(options.extraHosts.map((h) => strip(h.toLowerCase())));
  return (url) => {
    const host = strip(bracketless(url.hostname));
    const port = effectivePort(url);
    if (extra.has(host)) return true;
    if (host === publicHost && port === publicPort) return true;
    if (port !== options.port) return false;
    return host === listen || (loopbackListen && isLoopback(host)) || (wildcard && local.has(host));
  };
}

function effectivePort(url: URL): number {
  return url.port !== "" ? Number(url.port) : url.protocol === "https:" ? 443 : 80;
}

/** "sho.rt." is the same host as "sho.rt" to DNS. */
function strip(host: string): string {
  return host.endsWith(".") ? host.slice(0, -1) : host;
}

function bracketless(host: string): string {
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}

function isLoopback(host: string): boolean {
  if (host === "localhost" || host.endsWith(".localhost")) return true;
  if (/^127\.\d+\.\d+\.\d+$/.test(host)) return true;
  if (host === "::1" || host === "0:0:0:0:0:0:0:1") return true;
  // IPv4-mapped: the parser writes ::ffff:127.0.0.1 as ::ffff:7f00:1 (the first hex group 7fxx).
  const mapped = /^::ffff:([0-9a-f]{1,4}):[0-9a-f]{1,4}$/.exec(host);
  return mapped !== null && parseInt(mapped[1]!, 16) >> 8 === 127;
}
