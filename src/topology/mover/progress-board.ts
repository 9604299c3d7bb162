import type { ProgressEntry } from "../topology-view";

interface Track extends ProgressEntry {
  startedAt: number;
  startScanned: number;
}

/**
 * Live progress of the mover's scans, one entry per (step, source shard, table): rows scanned,
 * moved, rows/s since this run started and the ETA. Rendered as progress bars on a terminal
 * and published on the `topology` stream by the coordinator.
 */
export class ProgressBoard {
  private readonly tracks = new Map<string, Track>();
  private drawn = 0;

  constructor(private readonly out: { isTTY?: boolean; write(text: string): unknown } = process.stderr) {}

  begin(entry: Omit<ProgressEntry, "rows_per_s" | "eta_s">): void {
    this.tracks.set(keyOf(entry), { ...entry, rows_per_s: null, eta_s: null, startedAt: performance.now(), startScanned: entry.scanned });
  }

  update(step: string, source: number, table: string, change: { scanned: number; moved: number; done: boolean }): void {
    const track = this.tracks.get(keyOf({ step, source, table }));
    if (!track) return;
    Object.assign(track, change);
    const seconds = (performance.now() - track.startedAt) / 1000;
    const rate = seconds > 0 ? (track.scanned - track.startScanned) / seconds : 0;
    track.rows_per_s = Math.round(rate * 10) / 10;
    track.eta_s = track.done ? 0 : rate > 0 ? Math.round((Math.max(0, track.total - track.scanned) / rate) * 10) / 10 : null;
  }

  entries(step?: string): ProgressEntry[] {
    return [...this.tracks.values()].filter((t) => step === undefined || t.step === step).map(({ startedAt: _s, startScanned: _n, ...entry }) => entry);
  }

  /** Redraws the bars in place on a terminal; elsewhere prints one line per entry. */
  render(step: string): void {
    const lines = this.entries(step).map(formatLine);
    if (this.out.isTTY) {
      this.out.write(`${this.drawn > 0 ? `\x1b[${this.drawn}A` : ""}${lines.map((l) => `\x1b[2K${l}\n`).join("")}`);
      this.drawn = lines.length;
    } else {
      this.out.write(`${lines.join("\n")}\n`);
    }
  }

  /** The next render starts below the last one instead of drawing over it. */
  release(): void {
    this.drawn = 0;
  }
}

const BAR = 24;

function formatLine(e: ProgressEntry): string {
  const share = e.total > 0 ? Math.min(1, e.scanned / e.total) : e.done ? 1 : 0;
  const filled = Math.round(share * BAR);
  const bar = `[${"#".repeat(filled)}${".".repeat(BAR - filled)}]`;
  const rate = e.rows_per_s === null ? "" : ` ${Math.round(e.rows_per_s).toLocaleString("en")} rows/s`;
  const eta = e.done ? " done" : e.eta_s === null ? "" : ` ETA ${e.eta_s.toFixed(0)}s`;
  return `${e.step.padEnd(7)} shard ${String(e.source).padEnd(2)} ${e.table.padEnd(9)} ${bar} ${e.scanned.toLocaleString("en")}/${e.total.toLocaleString("en")} scanned, ${e.moved.toLocaleString("en")} moved${rate}${eta}`;
}

function keyOf(e: { step: string; source: number; table: string }): string {
  return `${e.step}/${e.source}/${e.table}`;
}
