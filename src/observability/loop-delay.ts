/**
 * How late the event loop runs a timer: a request that arrives while the loop is busy waits at
 * least that long, so this is where stalls behind a p99 show up (a long flush, a GC pause, a
 * burst of timers). A timer asks to run every `intervalMs`; how much later than that it ran is
 * one sample. Bun's perf_hooks.monitorEventLoopDelay does not see a blocked loop (a 50 ms busy
 * wait read as 1.7 ms when tried), so the drift is measured here. One timer for the process.
 *
 * @example
 *   const delay = new LoopDelaySampler({ intervalMs: 20, observe: (s) => histogram.observe(s) });
 *   delay.start();
 */
export class LoopDelaySampler {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private due = 0;

  constructor(
    private readonly o: {
      intervalMs: number;
      /** One sample, in seconds. */
      observe: (seconds: number) => void;
      now?: () => number;
    },
  ) {}

  start(): void {
    const now = this.o.now ?? performance.now.bind(performance);
    const tick = () => {
      const at = now();
      this.o.observe(Math.max(0, at - this.due) / 1000);
      this.due = at + this.o.intervalMs;
      this.timer = setTimeout(tick, this.o.intervalMs);
      this.timer.unref?.();
    };
    this.due = now() + this.o.intervalMs;
    this.timer = setTimeout(tick, this.o.intervalMs);
    this.timer.unref?.();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
