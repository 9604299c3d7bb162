import { readFile, stat } from "node:fs/promises";
import type Redis from "ioredis";
import { blockEntryOf, HostBlocklist, parseBlocklistFile } from "../../domain/host-blocklist";
import { ConfigError } from "../../errors";
import { addBlockedHost, blockedHosts, blocklistVersion, removeBlockedHost, type BlockedHost } from "../../storage/blocklist-rows";
import type { PgNode } from "../../storage/nodes";
import { BLOCKLIST_CHANNEL } from "../../storage/redis-keys";

export interface BlocklistSourceDeps {
  catalog: { primary: PgNode; replica: PgNode };
  /** Shared with others: only a "message" listener and the one channel are added to it. */
  subscriber: Redis;
  publisher: Redis;
  /** BLOCKLIST_FILE, or null for none. */
  file: string | null;
  pollMs: number;
  /** Told each new list (the one `list` returns from then on). */
  onChange?: (list: HostBlocklist) => void;
  /** A reload that failed after start; the list stays as it was. */
  onError: (message: string, error: Error) => void;
}

/**
 * The blocklist this instance enforces: the entries of BLOCKLIST_FILE and those added through the
 * admin API (the catalog, migrations/015), held in memory as one HostBlocklist that is replaced
 * whole on a change, so the redirect path reads it with no I/O and never sees half a reload.
 *
 * A change made on any instance reaches every other within `pollMs`: the writer announces it on
 * Redis pub/sub (at once), and every instance also polls the catalog's version row (the guarantee
 * when an announcement is lost), reloading the list only when the version moved. The file is
 * polled too, by its stat rather than fs.watch, which loses track of a file an editor saves by
 * renaming a new one over it. A file that is missing or wrong at start stops the start; one that
 * goes wrong later is reported and its previous entries kept, since dropping them would unblock.
 *
 * @example
 *   const source = new BlocklistSource({ catalog, subscriber, publisher, file: "/etc/shorten/blocklist", pollMs: 1000, onError });
 *   await source.start();
 *   source.list.blocksHref("https://cdn.evil.example/x"); // "evil.example"
 */
export class BlocklistSource {
  private current = new HostBlocklist([]);
  private fromFile: ReadonlySet<string> = new Set();
  private fromCatalog: ReadonlyMap<string, BlockedHost> = new Map();
  private version: string | null = null;
  private fileStamp: string | null = null;
  private loading: Promise<void> | null = null;
  private loadAgain = false;
  private ticking = false;
  private checkingFile = false;
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly onMessage = (channel: string) => {
    if (channel === BLOCKLIST_CHANNEL) void this.refreshCatalog();
  };

  constructor(private readonly deps: BlocklistSourceDeps) {}

  /** Throws ConfigError (start-up stops) when BLOCKLIST_FILE cannot be read or has a wrong line. */
  async start(): Promise<void> {
    const file = this.deps.file;
    if (file !== null) {
      let read = await readBlocklistFile(file).catch((error: Error) => {
        throw new ConfigError(`BLOCKLIST_FILE ${file} cannot be read: ${error.message}`);
      });
      // Being written at this very moment: read what it becomes.
      for (let tries = 0; read === null && tries < 20; tries++) read = await Bun.sleep(50).then(() => readBlocklistFile(file));
      if (read === null) throw new ConfigError(`BLOCKLIST_FILE ${file} kept changing while it was read`);
      const [bad, ...more] = read.errors;
      if (bad) throw new ConfigError(`BLOCKLIST_FILE ${file} line ${bad.line}: ${bad.reason}${more.length > 0 ? ` (${more.length} more wrong ${more.length === 1 ? "line" : "lines"})` : ""}`);
      this.fromFile = new Set(read.entries);
      this.fileStamp = read.stamp;
    }
    // A catalog that answers late (a failover, a start beside the cluster's) must not stop the
    // server: the file's entries hold meanwhile and the poll loads the catalog's once it answers.
    await this.loadCatalog().catch((error: Error) => this.deps.onError("blocklist: the catalog could not be read yet; its entries load once it answers", error));
    this.rebuild();
    this.deps.subscriber.on("message", this.onMessage);
    await this.deps.subscriber.subscribe(BLOCKLIST_CHANNEL).catch(() => {});
    this.timer = setInterval(() => void this.tick(), this.deps.pollMs);
    this.timer.unref?.();
  }

  /** The list in force now. */
  get list(): HostBlocklist {
    return this.current;
  }

  fileEntries(): ReadonlySet<string> {
    return this.fromFile;
  }

  /** The catalog's entries as last loaded, with when and why each was added. */
  catalogEntries(): ReadonlyMap<string, BlockedHost> {
    return this.fromCatalog;
  }

  /**
   * Adds an entry (as blockEntryOf gives it: another spelling would never match) to the catalog;
   * false when it was already there. This instance enforces it on return, the others within `pollMs`.
   */
  async add(host: string, note: string | null): Promise<boolean> {
    const entry = blockEntryOf(host);
    if (!entry.ok || entry.host !== host) throw new Error(`blocklist: ${JSON.stringify(host)} is not an entry as blockEntryOf gives it`);
    const added = await addBlockedHost(this.deps.catalog.primary, host, note);
    if (added) await this.announce();
    return added;
  }

  /** Removes a catalog entry; false when it was not there (a file's entry stays until the file drops it). */
  async remove(host: string): Promise<boolean> {
    const removed = await removeBlockedHost(this.deps.catalog.primary, host);
    if (removed) await this.announce();
    return removed;
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.deps.subscriber.off("message", this.onMessage);
    await this.deps.subscriber.unsubscribe(BLOCKLIST_CHANNEL).catch(() => {});
  }

  private async announce(): Promise<void> {
    await this.refreshCatalog();
    // The publisher fails fast when the bus is down: the others' poll is the guarantee.
    await this.deps.publisher.publish(BLOCKLIST_CHANNEL, "changed").catch(() => {});
  }

  private rebuild(): void {
    this.current = new HostBlocklist([...this.fromFile, ...this.fromCatalog.keys()]);
    this.deps.onChange?.(this.current);
  }

  private tick(): void {
    // A slow catalog must not stack polls up behind it, nor hold the file's poll back.
    if (!this.ticking) {
      this.ticking = true;
      void this.refreshCatalog().finally(() => (this.ticking = false));
    }
    if (!this.checkingFile) {
      this.checkingFile = true;
      void this.checkFile().finally(() => (this.checkingFile = false));
    }
  }

  /**
   * One catalog reload at a time: a reload asked for meanwhile (an announcement, our own write)
   * runs once more after it, so an older list never lands after a newer one and every caller's
   * promise settles after a load that began once it asked.
   */
  private refreshCatalog(): Promise<void> {
    if (this.loading) {
      this.loadAgain = true;
      return this.loading;
    }
    this.loading = this.reloadUntilSettled();
    return this.loading;
  }

  private async reloadUntilSettled(): Promise<void> {
    try {
      do {
        this.loadAgain = false;
        try {
          if (await this.loadCatalog()) this.rebuild();
        } catch (error) {
          this.deps.onError("blocklist: the catalog could not be read; the list stays as it was", error as Error);
        }
      } while (this.loadAgain);
    } finally {
      this.loading = null;
    }
  }

  /** Loads the catalog's entries when its version moved (on the replica while the primary does not answer); whether it did. */
  private async loadCatalog(): Promise<boolean> {
    const read = async (node: PgNode) => {
      const version = await blocklistVersion(node);
      return version === this.version ? null : { version, rows: await blockedHosts(node) };
    };
    const { primary, replica } = this.deps.catalog;
    // A lagging replica's older list must never replace a newer one: only a later version counts from there.
    const loaded = await read(primary).catch(async () => {
      const fromReplica = await read(replica);
      return fromReplica !== null && this.version !== null && BigInt(fromReplica.version) <= BigInt(this.version) ? null : fromReplica;
    });
    if (loaded === null) return false;
    this.version = loaded.version;
    this.fromCatalog = new Map(loaded.rows.map((row) => [row.host, row]));
    return true;
  }

  private async checkFile(): Promise<void> {
    const file = this.deps.file;
    if (file === null) return;
    let read: Awaited<ReturnType<typeof readBlocklistFile>>;
    try {
      const now = await stat(file);
      if (stampOf(now) === this.fileStamp) return;
      read = await readBlocklistFile(file);
      if (read === null) return;
    } catch (error) {
      if (this.fileStamp === MISSING) return;
      this.fileStamp = MISSING;
      this.deps.onError(`BLOCKLIST_FILE ${file} cannot be read; its previous entries stay in force`, error as Error);
      return;
    }
    // Remembered even when wrong, so a wrong file is reported once, not on every poll.
    this.fileStamp = read.stamp;
    const bad = read.errors[0];
    if (bad) {
      this.deps.onError(`BLOCKLIST_FILE ${file} line ${bad.line}: ${bad.reason}; its previous entries stay in force`, new Error(bad.reason));
      return;
    }
    this.fromFile = new Set(read.entries);
    this.rebuild();
  }

}

const MISSING = "missing";

/**
 * Stat before and after reading: a file caught mid-write (truncated, then written, as `cat >` or
 * an in-place editor does) would read short and unblock what it still lists, so such a read is
 * not taken; the next poll reads the finished file.
 */
async function readBlocklistFile(file: string) {
  const stamp = stampOf(await stat(file));
  const text = await readFile(file, "utf8");
  if (stampOf(await stat(file)) !== stamp) return null;
  return { stamp, ...parseBlocklistFile(text) };
}

const stampOf = (s: { mtimeMs: number; size: number; ino: number }) => `${s.mtimeMs}:${s.size}:${s.ino}`;
