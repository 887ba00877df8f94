/**
 * One forwarding target: its queue, the loop that sends from it (one request at a time, oldest
 * records first), retries and the counts a user sees.
 *
 * Retry rules follow the OTLP/HTTP specification: 429, 502, 503 and 504 and failures to connect or
 * answer in time are retried with exponential backoff and jitter, waiting at least what a
 * Retry-After says; any other 4xx or 5xx will not get better by resending and is counted as
 * rejected. A 2xx with an OTLP partial success counts its refused items as rejected, the rest sent.
 */
import { Agent, request } from 'undici';
import type { SpanRecord } from '../model/telemetry.ts';
import type { Signal } from '../collector/otlp-protobuf.ts';
import { encodeJaeger } from './encode-jaeger.ts';
import { CONTENT_TYPE, encodeOtlp, partialSuccessOf, type SignalRecords } from './encode-otlp.ts';
import { RecordQueue, type Chunk } from './record-queue.ts';
import { targetName, type ForwardTarget } from './settings.ts';

export interface ForwardTargetStats {
  readonly name: string;
  readonly kind: ForwardTarget['kind'];
  readonly endpoint: string;
  /** Records waiting, including those of the request in flight. */
  readonly queued: number;
  /** Records the target acknowledged. */
  readonly sent: number;
  /** Records put back for another attempt after a failed one (one record retried twice counts twice). */
  readonly retried: number;
  /** Records given up: the oldest, when the queue was full, and what was left at close(). */
  readonly dropped: number;
  /** Records the target refused (a 4xx, a non-retryable 5xx, or a partial success). */
  readonly rejected: number;
  /** Failed attempts in a row; 0 once a request succeeds. */
  readonly consecutiveFailures: number;
  readonly lastError: { readonly at: string; readonly message: string } | null;
  readonly lastSentAt: string | null;
}

const RETRYABLE_STATUS = new Set([429, 502, 503, 504]);
/** Enough of an error answer to show the user why; the rest is not read. */
const MAX_ERROR_BODY = 512;

type Attempt =
  | { readonly kind: 'sent'; readonly rejected: number; readonly message: string }
  | { readonly kind: 'retry'; readonly message: string; readonly retryAfterMs: number | null }
  | { readonly kind: 'rejected'; readonly message: string };

interface Part {
  readonly body: Buffer;
  readonly contentType: string;
  readonly url: string;
  readonly records: readonly unknown[];
}

export class TargetForwarder {
  readonly target: ForwardTarget;
  readonly name: string;
  private readonly queue: RecordQueue;
  private readonly agent: Agent;
  private readonly random: () => number;
  private inFlight = 0;
  private sent = 0;
  private retried = 0;
  private dropped = 0;
  private rejected = 0;
  private failures = 0;
  private lastError: { at: string; message: string } | null = null;
  private lastSentAt: string | null = null;
  private pumping: Promise<void> | null = null;
  private closed = false;
  private readonly abort = new AbortController();
  private wake: (() => void) | null = null;
  /** What the last retryable answer's Retry-After asked for. */
  private lastRetryAfterMs: number | null = null;

  constructor(target: ForwardTarget, options: { random?: () => number } = {}) {
    this.target = target;
    this.name = targetName(target);
    this.queue = new RecordQueue(target.queueLimit);
    this.random = options.random ?? Math.random;
    this.agent = new Agent({
      connections: 2,
      keepAliveTimeout: 30_000,
      headersTimeout: target.timeoutMs,
      bodyTimeout: target.timeoutMs,
      connect: { timeout: Math.min(target.timeoutMs, 10_000) },
    });
  }

  /** Whether this target takes the signal at all (Jaeger: spans only; OTLP: as configured). */
  accepts(signal: Signal): boolean {
    if (this.target.kind === 'jaeger') return signal === 'traces';
    return this.target.signals[signal];
  }

  /** Never blocks and never throws: the app's own store must not wait for a remote one. */
  enqueue(signal: Signal, records: readonly unknown[]): void {
    if (this.closed || records.length === 0 || !this.accepts(signal)) return;
    this.dropped += this.queue.push({ signal, records });
    this.kick();
  }

  /** Starts the send loop unless it runs; restarts it if records arrived just as it finished. */
  private kick(): void {
    if (this.pumping || this.abort.signal.aborted) return;
    this.pumping = this.pump()
      .catch((error: unknown) => this.noteError(`forwarding stopped: ${describe(error)}`))
      .finally(() => {
        this.pumping = null;
        if (this.queue.size > 0) this.kick();
      });
  }

  stats(): ForwardTargetStats {
    return {
      name: this.name,
      kind: this.target.kind,
      endpoint: this.target.endpoint,
      queued: this.queue.size + this.inFlight,
      sent: this.sent,
      retried: this.retried,
      dropped: this.dropped,
      rejected: this.rejected,
      consecutiveFailures: this.failures,
      lastError: this.lastError,
      lastSentAt: this.lastSentAt,
    };
  }

  /**
   * Sends what is queued until it is all sent or `deadlineMs` passed, then stops: the request in
   * flight is aborted and whatever is left is counted as dropped. Enqueues after this are ignored.
   */
  async close(deadlineMs: number): Promise<ForwardTargetStats> {
    this.closed = true;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, deadlineMs);
    });
    try {
      await Promise.race([this.drained(), deadline]);
    } finally {
      clearTimeout(timer);
    }
    this.abort.abort(new Error('the forwarder is closing'));
    this.wake?.();
    await this.pumping;
    this.dropped += this.queue.clear();
    await this.agent.close().catch(() => undefined);
    return this.stats();
  }

  private async drained(): Promise<void> {
    while (this.pumping) await this.pumping;
  }

  private async pump(): Promise<void> {
    while (!this.abort.signal.aborted) {
      const chunk = this.queue.take(this.target.maxBatch);
      if (!chunk) return;
      this.inFlight = chunk.records.length;
      let rest: Chunk | null;
      try {
        rest = await this.deliver(chunk);
      } finally {
        this.inFlight = 0;
      }
      if (rest) {
        // Back in front; if the queue filled meanwhile these are the oldest and go first.
        const dropped = this.queue.unshift(rest);
        this.dropped += dropped;
        this.retried += Math.max(0, rest.records.length - dropped);
        this.failures += 1;
        if (this.abort.signal.aborted) return;
        await this.sleep(this.backoffMs(this.lastRetryAfterMs));
      } else {
        this.failures = 0;
      }
    }
  }

  /** Sends one chunk; returns what is left to retry, or null when nothing is. */
  private async deliver(chunk: Chunk): Promise<Chunk | null> {
    let parts: Part[];
    try {
      parts = this.encode(chunk);
    } catch (error) {
      // Records the model accepted always encode; if one ever does not, resending cannot help.
      this.rejected += chunk.records.length;
      this.noteError(`could not encode ${chunk.records.length} records: ${describe(error)}`);
      return null;
    }
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      const outcome = await this.attempt(part, chunk.signal);
      if (outcome.kind === 'sent') {
        this.sent += part.records.length - outcome.rejected;
        this.rejected += outcome.rejected;
        this.lastSentAt = new Date().toISOString();
        if (outcome.rejected > 0) this.noteError(`${outcome.rejected} refused: ${outcome.message}`);
        continue;
      }
      if (outcome.kind === 'rejected') {
        this.rejected += part.records.length;
        this.noteError(outcome.message);
        continue;
      }
      this.noteError(outcome.message);
      this.lastRetryAfterMs = outcome.retryAfterMs;
      return { signal: chunk.signal, records: parts.slice(i).flatMap((p) => p.records) };
    }
    return null;
  }

  private encode(chunk: Chunk): Part[] {
    const target = this.target;
    if (target.kind === 'jaeger') {
      return encodeJaeger(chunk.records as SpanRecord[]).map((b) => ({
        body: b.body,
        contentType: 'application/x-thrift',
        url: target.endpoint,
        records: b.spans,
      }));
    }
    const batch = { signal: chunk.signal, records: chunk.records } as SignalRecords;
    return [
      {
        body: encodeOtlp(batch, target.encoding),
        contentType: CONTENT_TYPE[target.encoding],
        url: `${target.endpoint.replace(/\/+$/, '')}/v1/${chunk.signal}`,
        records: chunk.records,
      },
    ];
  }

  private async attempt(part: Part, signal: Signal): Promise<Attempt> {
    let status: number;
    let body: Buffer;
    let retryAfter: string | string[] | undefined;
    try {
      const res = await request(part.url, {
        method: 'POST',
        body: part.body,
        headers: { ...this.target.headers, 'content-type': part.contentType },
        dispatcher: this.agent,
        signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.target.timeoutMs)]),
      });
      status = res.statusCode;
      retryAfter = res.headers['retry-after'];
      body = Buffer.from(await res.body.arrayBuffer());
    } catch (error) {
      return { kind: 'retry', message: `${part.url}: ${describe(error)}`, retryAfterMs: null };
    }
    if (status >= 200 && status < 300) {
      if (this.target.kind === 'jaeger') return { kind: 'sent', rejected: 0, message: '' };
      const partial = partialSuccessOf(signal, this.target.encoding, body);
      return {
        kind: 'sent',
        rejected: Math.min(partial.rejected, part.records.length),
        message: partial.message,
      };
    }
    const detail = `${part.url} answered ${status}${errorText(body)}`;
    if (RETRYABLE_STATUS.has(status))
      return { kind: 'retry', message: detail, retryAfterMs: parseRetryAfter(retryAfter) };
    return { kind: 'rejected', message: detail };
  }

  /**
   * Exponential backoff with "equal jitter" (half fixed, half random), so targets that failed
   * together do not retry together; a Retry-After is a floor, never shortened.
   */
  private backoffMs(retryAfterMs: number | null): number {
    const { initialBackoffMs, maxBackoffMs, maxRetryAfterMs } = this.target.retry;
    const exp = Math.min(maxBackoffMs, initialBackoffMs * 2 ** Math.min(30, this.failures - 1));
    const jittered = exp / 2 + (this.random() * exp) / 2;
    if (retryAfterMs === null) return jittered;
    const floor = Math.min(retryAfterMs, maxRetryAfterMs);
    // A little spread above the floor, for the same reason.
    return floor + this.random() * Math.min(floor * 0.1, 1_000);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = null;
        done();
      };
    });
  }

  private noteError(message: string): void {
    this.lastError = { at: new Date().toISOString(), message: message.slice(0, 1_000) };
  }
}

/** Retry-After is delay-seconds or an HTTP-date (RFC 9110 §10.2.3); anything else is ignored. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | null {
  const v = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!v) return null;
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

function errorText(body: Buffer): string {
  if (body.length === 0) return '';
  const text = body.subarray(0, MAX_ERROR_BODY).toString('utf8');
  // Protobuf google.rpc.Status bodies are mostly printable; strip what is not.
  const printable = text.replace(/[^\x20-\x7e]+/g, ' ').trim();
  return printable ? `: ${printable}` : '';
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as Error & { cause?: unknown }).cause;
    const code = (error as NodeJS.ErrnoException).code ?? (cause as NodeJS.ErrnoException | undefined)?.code;
    return code ? `${error.message} (${code})` : error.message;
  }
  return String(error);
}
