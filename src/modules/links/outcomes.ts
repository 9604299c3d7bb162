/** What the link service reports about each read and write; events and metrics are built from these. */
export interface ReadOutcome {
  code: string;
  shard: number | null;
  status: "OK" | "NOT_FOUND" | "ERROR";
  cache: "HIT" | "MISS";
  /** `memory`: this instance's hot-link cache; a HIT like `redis`. */
  source: "memory" | "redis" | "replica" | "primary" | "none" | "error";
  latencyMs: number;
}

export interface WriteOutcome {
  code: string | null;
  shard: number | null;
  status: "OK" | "ERROR";
  created: boolean;
  latencyMs: number;
}

export interface LinkObserver {
  onRead(outcome: ReadOutcome): void;
  onWrite(outcome: WriteOutcome): void;
}
