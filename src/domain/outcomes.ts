/** What the link service reports about each read and write; events and metrics are built from these. */
export interface ReadOutcome {
  code: string;
  shard: number | null;
  /** GONE: the link exists but expired or used up its visits (410). */
  status: "OK" | "NOT_FOUND" | "GONE" | "ERROR";
  cache: "HIT" | "MISS";
  /** `memory`: this instance's hot-link cache; a HIT like `redis`. */
  source: "memory" | "redis" | "replica" | "primary" | "none" | "error";
  /** The key that owns the link (its events also go to that owner's stream); null when none or unknown. */
  owner: string | null;
  /** The redirect rule that chose the target (its index), or null: the link's own URL, or not served. */
  rule: number | null;
  latencyMs: number;
}

export interface WriteOutcome {
  code: string | null;
  shard: number | null;
  status: "OK" | "ERROR";
  created: boolean;
  owner: string | null;
  latencyMs: number;
}

/** An owner changed or deleted a link. */
export interface ChangeOutcome {
  code: string;
  shard: number | null;
  kind: "update" | "delete";
  /** Null for an anonymous link (an admin disabled it). */
  owner: string | null;
  latencyMs: number;
}

export interface LinkObserver {
  onRead(outcome: ReadOutcome): void;
  onWrite(outcome: WriteOutcome): void;
  onChange(outcome: ChangeOutcome): void;
}
