import postgres from "postgres";
import { within } from "./deadline";

/**
 * Which host of an HA pair a node's pool connects to, decided by asking the hosts rather than by
 * postgres.js' multi-host support, which cannot be trusted with a pair (postgres.js 3.4):
 * - `target_session_attrs=read-write` accepts a hot standby (it looks only at
 *   `default_transaction_read_only`, which is off on a standby), and a connection that closes
 *   reconnects to the *next* host, so a writer pool drifts onto the standby at its first idle
 *   timeout and its writes are refused as read-only;
 * - `prefer-standby` with the standby down never settles on the primary: it connects to it, drops
 *   it for the missing standby and loops, so reads time out and the primary pays a backend start
 *   per turn;
 * - after a burst of dropped connections its reconnect backoff grows to 20 s, so a pool keeps off
 *   a promoted node long after the promotion.
 * So each node's pool holds one host, and this picks it: for a writer, the host that takes writes
 * that commit (TAKES_WRITES_SQL); for a reader, a standby, else a host that takes writes. The
 * hosts are asked at start, after a failure on the current host, and every ASK_EVERY_MS in any
 * case, over one kept-open connection per host so the asking costs no backend starts (a few
 * queries a second per instance). The regular asking is what moves a pool whose host changed
 * role without failing a call: reads on a primary that became a standby still succeed, and
 * answer from its older data, so a writer's reads would otherwise miss recent links unnoticed.
 */
export type Want = "writer" | "reader";

/** A burst of failures under load is one round of questions. */
export const ASK_EVERY_MS = 2000;

/** Rounds of questions a choice takes at most when no host that answered will do. */
const ANSWER_ROUNDS = 3;

const TAKES_WRITES = `not pg_is_in_recovery() and current_setting('transaction_read_only') = 'off'
     and (current_setting('synchronous_standby_names') = ''
          or exists (select 1 from pg_stat_replication where sync_state in ('sync', 'quorum')))`;

/**
 * One row, `fit`: the node takes writes that commit: out of recovery, not read-only, and, when it
 * waits for synchronous standbys, with one connected. A demoted primary that came back on its own
 * passes the first two and fails the third.
 */
export const TAKES_WRITES_SQL = `select ${TAKES_WRITES} as fit`;
const HOST_STATE_SQL = `select pg_is_in_recovery() as standby, ${TAKES_WRITES} as fit`;

interface HostState {
  standby: boolean;
  fit: boolean;
}

/** postgres.js' reconnect backoff, bounded: the node's breaker is what spaces out calls to a down node. */
export const boundedBackoff = (attempt: number) => Math.min(0.05 * 2 ** attempt, 1);

/** The URL without `target_session_attrs`, which the choice replaces. */
export function withoutSessionAttrs(url: string): string {
  return url.replace(/([?&])target_session_attrs=[^&]*&?/, "$1").replace(/[?&]$/, "");
}

export class HostChoice {
  private current: string;
  private readonly asks: Map<string, postgres.Sql>;
  private askedAt = 0;
  private asking: Promise<void> | null = null;
  private readonly recheck: ReturnType<typeof setInterval>;

  /**
   * @param urlOf a one-host URL for each host
   * @param onChange called with the chosen host's URL when the choice moves
   */
  constructor(
    private readonly hosts: readonly string[],
    private readonly urlOf: (host: string) => string,
    private readonly want: Want,
    private readonly timeoutMs: number,
    private readonly onChange: (url: string) => void,
  ) {
    this.current = hosts[0]!;
    const connectTimeout = Math.max(1, Math.ceil(timeoutMs / 1000));
    this.asks = new Map(hosts.map((h) => [h, postgres(urlOf(h), { max: 1, idle_timeout: 0, connect_timeout: connectTimeout, backoff: boundedBackoff, onnotice: () => {} })]));
    void this.ask();
    this.recheck = setInterval(() => this.nudge(), ASK_EVERY_MS);
    this.recheck.unref?.();
  }

  get url(): string {
    return this.urlOf(this.current);
  }

  /** The current host failed a call: ask again, unless asked within ASK_EVERY_MS. */
  nudge(): void {
    if (this.asking === null && Date.now() - this.askedAt >= ASK_EVERY_MS) void this.ask();
  }

  /** Asks the hosts now (or joins the round under way), for work about to start: the last answer may predate the hosts. */
  ask(): Promise<void> {
    if (this.asking !== null) return this.asking;
    this.askedAt = Date.now();
    this.asking = this.choose()
      .catch(() => {})
      .finally(() => (this.asking = null));
    return this.asking;
  }

  async close(): Promise<void> {
    clearInterval(this.recheck);
    await Promise.allSettled([...this.asks.values()].map((sql) => sql.end({ timeout: 1 })));
  }

  /**
   * Asks again, up to ANSWER_ROUNDS rounds, while no host that answered will do and some host did
   * not answer: a host's first question also opens its connection, which on a busy machine can
   * take longer than a call's timeout, and until a host is picked the pool holds the first one
   * named, which may be a demoted primary whose writes never commit.
   */
  private async choose(): Promise<void> {
    for (let round = 1; ; round++) {
      const states = await Promise.all(this.hosts.map((h) => this.stateOf(h)));
      const first = (test: (s: HostState) => boolean) => this.hosts.find((_, i) => states[i] !== null && test(states[i]!));
      const pick = this.want === "writer" ? first((s) => s.fit) : (first((s) => s.standby) ?? first((s) => s.fit));
      if (pick === undefined) {
        if (round < ANSWER_ROUNDS && states.includes(null)) continue;
        return;
      }
      if (pick === this.current) return;
      this.current = pick;
      this.onChange(this.url);
      return;
    }
  }

  /** Any failure to answer in time is no state. */
  private async stateOf(host: string): Promise<HostState | null> {
    try {
      const rows = await within<ReadonlyArray<HostState> | null>(this.asks.get(host)!.unsafe<HostState[]>(HOST_STATE_SQL), this.timeoutMs, () => null);
      return rows?.[0] ?? null;
    } catch {
      return null;
    }
  }
}
