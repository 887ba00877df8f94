import type { LogRecord, MetricPoint, SpanRecord, TelemetrySink } from '../model/telemetry.ts';

/**
 * A real TelemetrySink for the collector's tests: it keeps what it was given in memory, and can be
 * told to be slow, to refuse appends, or to report back-pressure for a number of checks. It
 * resolves an append only after keeping the data, as the interface asks of a durable sink.
 */
export class RecordingSink implements TelemetrySink {
  readonly spans: SpanRecord[] = [];
  readonly metrics: MetricPoint[] = [];
  readonly logs: LogRecord[] = [];
  appendCalls = 0;
  /** Milliseconds each append takes. */
  delayMs = 0;
  /** The next this-many appends reject. */
  failAppends = 0;
  /** The next this-many pressure() checks say "not accepting". */
  refuseChecks = 0;
  retryAfterSeconds = 1;

  async appendSpans(spans: readonly SpanRecord[]): Promise<void> {
    await this.gate();
    this.spans.push(...spans);
  }

  async appendMetrics(points: readonly MetricPoint[]): Promise<void> {
    await this.gate();
    this.metrics.push(...points);
  }

  async appendLogs(records: readonly LogRecord[]): Promise<void> {
    await this.gate();
    this.logs.push(...records);
  }

  pressure(): { accepting: boolean; retryAfterSeconds: number; reason?: string } {
    if (this.refuseChecks > 0) {
      this.refuseChecks -= 1;
      return { accepting: false, retryAfterSeconds: this.retryAfterSeconds, reason: 'test sink is full' };
    }
    return { accepting: true, retryAfterSeconds: 0 };
  }

  private async gate(): Promise<void> {
    this.appendCalls += 1;
    if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    if (this.failAppends > 0) {
      this.failAppends -= 1;
      throw new Error('test sink refuses this append');
    }
  }
}

/** Polls until `check` holds (exporters deliver asynchronously), or fails with what it last saw. */
export async function eventually(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
