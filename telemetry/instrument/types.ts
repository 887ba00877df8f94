/**
 * What a running service sees of its telemetry. The kit holds one of these only when an exporter is
 * configured; without one there is no object, no SDK loaded and no hook installed.
 *
 * The shapes here are structural on purpose: telemetry/ may not import the kit, so breaker
 * snapshots, outbox stats and the like are described by what instrumentation reads from them.
 */
import type { Attributes } from '@opentelemetry/api';
import type { ExportPlan } from './settings.ts';

export interface ServiceIdentity {
  readonly service: string;
  readonly instanceId: string;
  readonly clusterId: string;
}

/** Where the SDK's own warnings go (a pino logger fits). */
export interface Diagnostics {
  warn(fields: object, message: string): void;
}

export type Headers = Record<string, string | string[] | undefined>;

export interface ServerRequestInfo {
  readonly method: string;
  /** Path without the query string. */
  readonly path: string;
  /** The matched route template ("/v1/users/:handle"); undefined when no route matched. */
  readonly route: string | undefined;
  readonly headers: Headers;
  readonly requestId: string;
}

/** The server span of one request. */
export interface ServerRequestSpan {
  /** Run `fn` with this span active, so whatever the request starts joins its trace. */
  run<T>(fn: () => T): T;
  /** The problem detail of an error answer: the span's status message when it is a 5xx. */
  problem(detail: string): void;
  /**
   * The answer's status, or null when the connection closed before any answer was sent. `complete`
   * is false when the connection closed part way through the body. Idempotent.
   */
  end(status: number | null, complete?: boolean): void;
}

export interface ClientCallInfo {
  readonly callee: string;
  readonly method: string;
  readonly path: string;
  readonly breaker: string;
  readonly breakerState: string;
}

/** The client span of one call to another service (breaker, discovery, HTTP, fallback). */
export interface ClientCall {
  run<T>(fn: () => T): T;
  /** The instance discovery picked ("host:port"). */
  target(address: string, instance: string): void;
  /** Add `traceparent` (and `tracestate`) for the callee. */
  inject(headers: Headers): void;
  /** The callee answered with this status. */
  response(status: number): void;
  /** The call is over: answered, or served by the fallback (`degradedCause` says why). Idempotent. */
  end(degradedCause?: string): void;
  /** The call failed and the caller gets an error. Idempotent. */
  fail(message: string, errorType: string): void;
}

export interface BreakerTransitionInfo {
  readonly breaker: string;
  readonly from: string;
  readonly to: string;
  readonly reason: string;
}

export interface FaultAppliedInfo {
  readonly faultId: string;
  readonly kind: string;
  readonly method: string;
  readonly path: string;
  readonly caller: string | null;
}

export interface OutboxFailureInfo {
  readonly destination: string;
  readonly event: string;
  readonly outboxId: number;
  readonly attempts: number;
  readonly reason: string;
  /** True when the destination refused the event for good (parked), false when it is retried. */
  readonly parked: boolean;
}

export interface BreakerSnapshotLike {
  readonly name: string;
  readonly callee: string;
  readonly state: string;
  readonly counts: Readonly<Record<string, number>>;
  readonly errorPercentage: number;
  readonly latencyMs: Readonly<Record<string, number>>;
}

export interface OutboxStatsLike {
  readonly pending: number;
  readonly oldestPendingAgeMs: number;
  readonly delivered: number;
  readonly failedAttempts: number;
  readonly parked: number;
  readonly byDestination: Readonly<Record<string, { readonly pending: number }>>;
}

export type Observation = readonly [value: number, attributes: Attributes];

export interface ServiceTelemetry {
  readonly plan: ExportPlan;
  server(info: ServerRequestInfo): ServerRequestSpan;
  client(info: ClientCallInfo): ClientCall;
  breakerTransition(transition: BreakerTransitionInfo): void;
  faultApplied(fault: FaultAppliedInfo): void;
  outboxFailure(failure: OutboxFailureInfo): void;
  /** Breaker state and rolling counts as gauges, read at each metric export. Returns the undo. */
  observeBreakers(snapshots: () => readonly BreakerSnapshotLike[]): () => void;
  /** Outbox backlog and lag as gauges, read at each metric export. Returns the undo. */
  observeOutbox(stats: () => OutboxStatsLike): () => void;
  /** Any other gauge a service wants to publish (e.g. the registry's instance count). Returns the undo. */
  gauge(
    name: string,
    options: { readonly description: string; readonly unit?: string },
    observe: () => Iterable<Observation>,
  ): () => void;
  /** trace_id and span_id of the active span, for log lines. */
  logFields(): Record<string, string>;
  /** Forward an application log line as an OpenTelemetry log record (in the active trace, if any). */
  log(severityText: 'WARN' | 'ERROR' | 'FATAL', body: string, attributes: Attributes): void;
  setDiagnostics(diagnostics: Diagnostics): void;
  /** Export everything recorded so far. */
  flush(): Promise<void>;
  /** Flush, then stop exporting; bounded in time so a dead collector cannot stall a shutdown. */
  shutdown(): Promise<void>;
}
