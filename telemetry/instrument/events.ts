import { SeverityNumber, trace, type Attributes, type Logger } from '@opentelemetry/api';
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_URL_PATH,
} from '@opentelemetry/semantic-conventions';
import { ATTR_CALLER } from './http-server.ts';
import type { BreakerTransitionInfo, FaultAppliedInfo, OutboxFailureInfo } from './types.ts';

/** OpenTelemetry's event convention: where a log record names its event (still incubating). */
export const ATTR_EVENT_NAME = 'event.name';

/** The convention telemetry/query/breakers.ts reads. */
export const BREAKER_TRANSITION_EVENT = 'breaker.transition';
export const FAULT_APPLIED_EVENT = 'fault.applied';
export const OUTBOX_DELIVERY_FAILED_EVENT = 'outbox.delivery_failed';

const SEVERITY_TEXT: Partial<Record<SeverityNumber, string>> = {
  [SeverityNumber.INFO]: 'INFO',
  [SeverityNumber.WARN]: 'WARN',
  [SeverityNumber.ERROR]: 'ERROR',
};

/**
 * Resilience events, reported twice: as an event on the active span (the call or request that
 * caused it, when there is one still open) and as a log record, which exists even when nothing was
 * in flight (a timer half-opening a breaker, an operator forcing it). Readers count each once.
 */
export function eventReporter(logger: Logger) {
  const report = (name: string, severity: SeverityNumber, body: string, attributes: Attributes) => {
    const span = trace.getActiveSpan();
    // An ended span refuses events (and the SDK complains): the log record still carries the trace.
    if (span?.isRecording()) span.addEvent(name, attributes);
    logger.emit({
      eventName: name,
      severityNumber: severity,
      severityText: SEVERITY_TEXT[severity] ?? 'INFO',
      body,
      attributes: { [ATTR_EVENT_NAME]: name, ...attributes },
    });
  };

  return {
    breakerTransition: (t: BreakerTransitionInfo): void => {
      const opened = t.to === 'open' || t.to === 'forced-open';
      report(
        BREAKER_TRANSITION_EVENT,
        opened ? SeverityNumber.WARN : SeverityNumber.INFO,
        `breaker ${t.breaker}: ${t.from} → ${t.to}`,
        {
          'breaker.name': t.breaker,
          'breaker.from': t.from,
          'breaker.to': t.to,
          'breaker.reason': t.reason,
        },
      );
    },
    faultApplied: (f: FaultAppliedInfo): void => {
      const attributes: Attributes = {
        'fault.id': f.faultId,
        'fault.kind': f.kind,
        [ATTR_HTTP_REQUEST_METHOD]: f.method,
        [ATTR_URL_PATH]: f.path,
      };
      if (f.caller) attributes[ATTR_CALLER] = f.caller;
      report(
        FAULT_APPLIED_EVENT,
        SeverityNumber.INFO,
        `fault ${f.kind} applied to ${f.method} ${f.path}`,
        attributes,
      );
    },
    outboxFailure: (f: OutboxFailureInfo): void => {
      report(
        OUTBOX_DELIVERY_FAILED_EVENT,
        f.parked ? SeverityNumber.ERROR : SeverityNumber.WARN,
        f.parked
          ? `outbox event ${f.outboxId} refused by ${f.destination}; parked`
          : `outbox delivery to ${f.destination} failed; will retry`,
        {
          'outbox.destination': f.destination,
          'outbox.event': f.event,
          'outbox.id': f.outboxId,
          'outbox.attempts': f.attempts,
          'outbox.parked': f.parked,
          [ATTR_ERROR_TYPE]: f.parked ? 'refused' : 'retry',
          'error.message': f.reason,
        },
      );
    },
  };
}
