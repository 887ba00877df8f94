/**
 * Forwarding: re-export everything the collector accepted to teams' own backends — an OTLP/HTTP
 * endpoint (OpenTelemetry Collector, Tempo, Jaeger ≥ 1.35, …; traces, metrics and logs) or a
 * Jaeger collector (Thrift over HTTP, spans only).
 *
 * Use (the control plane):
 *
 *   const forwarder = createForwarder({ targets: [
 *     { kind: 'otlp', endpoint: 'http://otel:4318', headers: { authorization: 'Bearer …' } },
 *     { kind: 'jaeger', endpoint: 'http://jaeger:14268/api/traces' },
 *   ] });                                    // zod-validated; throws ZodError on bad settings
 *   const collector = await createCollector({ sink: withForwarding(store, forwarder) });
 *   forwarder.stats();                       // per target: queued, sent, retried, dropped, rejected, lastError
 *   await collector.close(); await forwarder.close(5_000);   // flush within the deadline
 *
 * Changing targets live: create a new forwarder and sink, then close the old forwarder.
 */
export { createForwarder, withForwarding, DEFAULT_CLOSE_DEADLINE_MS, type Forwarder } from './forwarder.ts';
export type { ForwardTargetStats } from './target.ts';
export {
  forwardSettingsSchema,
  forwardTargetSchema,
  targetName,
  type ForwardSettings,
  type ForwardSettingsInput,
  type ForwardTarget,
  type ForwardTargetInput,
} from './settings.ts';
