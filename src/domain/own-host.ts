/**
 * Which URLs point back at this deployment (a short link to them loops, or lets one `curl -L`
 * spend a link's whole visit budget). Decided on the host alone, on any port: another port of
 * ours is a sibling instance, the metrics listener or the load balancer, all of them us. Ours:
 * - every loopback name and address: localhost, *.localhost, the usual /etc/hosts loopback names,
 *   127.0.0.0/8, ::1, and the "this host" addresses 0.0.0.0/8 and ::;
 * - the public base URL's host, the listen host, OWN_HOSTNAMES, and the machine's own addresses
 *   and host name (passed in, so this stays pure);
 * - any of those IPv4 addresses inside IPv6: mapped ::ffff:a.b.c.d, compatible ::a.b.c.d and
 *   translated ::ffff:0:a.b.c.d.
 * Hosts are compared in the URL parser's normal form (it turns 0x7f.1, 2130706433, 0177.0.0.1 and
 * 127.1 into 127.0.0.1, lowercases, maps full-width letters, compresses IPv6), with trailing dots
 * removed: DNS treats "sho.rt." as "sho.rt". The same parser reads the configured hosts, so a
 * spelling in config and a spelling in a link meet in one form.
 *
 * @example
 *   const isOwn = ownHostRule({ publicBaseUrl: "https://sho.rt", host: "0.0.0.0", extraHosts: [], machineHosts: ["10.0.0.5", "vm"] });
 *   isOwn(new URL("http://[::ffff:127.0.0.1]:9999/x")) // true
 *   isOwn(new URL("http://SHO.RT.:8443/abc"))          // true
 */
export interface OwnHostOptions {
  publicBaseUrl: string;
  /** The listen host (HOST). */
  host: string;
  /** OWN_HOSTNAMES: other names and addresses the deployment answers on. */
  extraHosts: readonly string[];
  /** The machine's own interface addresses and host name. */
  machineHosts: readonly string[];
}

const LOOPBACK_NAMES = new Set(["localhost", "localhost.localdomain", "localhost6", "localhost6.localdomain6", "ip6-localhost", "ip6-loopback"]);

export function ownHostRule(options: OwnHostOptions): (url: URL) => boolean {
  const names = new Set<string>();
  const v4 = new Set<number>();
  const v6 = new Set<string>();
  for (const raw of [new URL(options.publicBaseUrl).hostname, options.host, ...options.extraHosts, ...options.machineHosts]) {
    const host = canonicalHost(raw);
    const ip = ipv4Of(host) ?? embeddedIpv4(host);
    if (ip !== null) v4.add(ip);
    else if (host.startsWith("[")) v6.add(host);
    else names.add(host);
  }
  const ownV4 = (ip: number) => ip >>> 24 === 127 || ip >>> 24 === 0 || v4.has(ip);
  return (url) => {
    const host = canonicalHost(url.hostname);
    const ip = ipv4Of(host) ?? embeddedIpv4(host);
    if (ip !== null) return ownV4(ip);
    if (host.startsWith("[")) return v6.has(host);
    return LOOPBACK_NAMES.has(host) || host.endsWith(".localhost") || names.has(host);
  };
}

/** The URL parser's form of a host, without trailing dots; IPv6 in brackets. */
function canonicalHost(raw: string): string {
  let host = raw.toLowerCase();
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  host = host.replace(/\.+$/, "");
  try {
    host = new URL(`http://${host.includes(":") ? `[${host}]` : host}/`).hostname;
  } catch {
    return host;
  }
  // "127.0.0.1." parses as an address, but "foo." keeps its dot.
  return host.replace(/\.+$/, "");
}

/** A dotted IPv4 host as a number (the parser writes every IPv4 host in this form). */
function ipv4Of(host: string): number | null {
  const parts = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(host);
  if (parts === null) return null;
  return parts.slice(1).reduce((n, part) => n * 256 + Number(part), 0);
}

/** The IPv4 address inside an IPv6 host of the mapped, compatible or translated kind (so :: is 0.0.0.0 and ::1 is 0.0.0.1). */
function embeddedIpv4(host: string): number | null {
  const groups = ipv6Groups(host);
  if (groups === null || groups.slice(0, 4).some((g) => g !== 0)) return null;
  const [, , , , g4, g5, g6, g7] = groups as [number, number, number, number, number, number, number, number];
  const mapped = g4 === 0 && g5 === 0xffff;
  const compatible = g4 === 0 && g5 === 0;
  const translated = g4 === 0xffff && g5 === 0;
  return mapped || compatible || translated ? g6 * 65536 + g7 : null;
}

/** The eight 16-bit groups of a bracketed IPv6 host as the parser writes it (hex groups, at most one ::). */
function ipv6Groups(host: string): number[] | null {
  if (!host.startsWith("[") || !host.endsWith("]")) return null;
  const [head, tail] = host.slice(1, -1).split("::") as [string, string | undefined];
  const parse = (part: string) => (part === "" ? [] : part.split(":").map((g) => parseInt(g, 16)));
  const front = parse(head);
  const back = tail === undefined ? [] : parse(tail);
  const groups = tail === undefined ? front : [...front, ...new Array<number>(8 - front.length - back.length).fill(0), ...back];
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : null;
}
