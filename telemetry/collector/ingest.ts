import type { TelemetrySink } from '../model/telemetry.ts';
import type { Answer } from './answers.ts';
import { AttributeLimiter } from './attributes.ts';
import type { StatsRecorder } from './collector-stats.ts';
import { BodyError, MEDIA_TYPE_OF, decodedBody, encodingOf } from './http-body.ts';
import { IngestTally } from './ingest-result.ts';
import type { CollectorLimits } from './limits.ts';
import type { Receiver } from './receivers.ts';

export interface IngestContext {
  readonly sink: TelemetrySink;
  readonly limits: CollectorLimits;
  readonly stats: StatsRecorder;
  /** Told about failures that are ours or the sink's, not the client's. */
  readonly onInternalError?: (message: string, error: unknown) => void;
}

export interface IncomingBody {
  readonly body: Buffer;
  readonly contentType: string | undefined;
  readonly contentEncoding: string | undefined;
}

class SinkTimeout extends Error {}

/**
 * One request from body to answer: decompress, decode, check the item count, map under the limits,
 * append to the sink, answer. Every step that reads client bytes is inside a try, so whatever the
 * bytes are the answer is a 4xx, never a crash; only the sink failing gives a (retryable) 503.
 */
export async function ingest<W, R extends { readonly service: string }>(
  receiver: Receiver<W, R>,
  ctx: IngestContext,
  incoming: IncomingBody,
): Promise<Answer> {
  const encoding = encodingOf(incoming.contentType);
  if (!encoding || !receiver.encodings.includes(encoding)) {
    const accepted = receiver.encodings.map((e) => MEDIA_TYPE_OF[e]).join(' or ');
    return receiver.failure(
      null,
      415,
      `unsupported Content-Type ${JSON.stringify((incoming.contentType ?? '').slice(0, 80))}; send ${accepted}`,
    );
  }
  const { limits, stats, sink } = ctx;

  let wire: W;
  try {
    const body = await decodedBody(incoming.body, incoming.contentEncoding, limits.maxBodyBytes);
    wire = receiver.decode(body, encoding);
  } catch (e) {
    if (e instanceof BodyError) return receiver.failure(encoding, e.status, e.message);
    return receiver.failure(encoding, 400, `could not decode the ${encoding} body: ${describe(e)}`);
  }

  const limiter = new AttributeLimiter(limits);
  const tally = new IngestTally();
  let records: R[];
  try {
    const count = receiver.count(wire);
    const max = receiver.maxItems(limits);
    if (count > max) {
      // Map only to learn who sent them, so the refusal shows up under the right services.
      receiver.map(wire, limiter, tally);
      stats.addAll(tally.receivedByService, receiver.itemKind, 'received');
      stats.addAll(tally.receivedByService, receiver.itemKind, 'refused');
      return receiver.failure(
        encoding,
        413,
        `${count} ${receiver.unit} in one request; the limit is ${max}: send smaller batches`,
      );
    }
    records = receiver.map(wire, limiter, tally);
  } catch (e) {
    // Decoders accept structurally valid bodies whose content the mapping still cannot use.
    return receiver.failure(encoding, 400, `could not read the ${receiver.unit}: ${describe(e)}`);
  }

  stats.addAll(tally.receivedByService, receiver.itemKind, 'received');
  stats.addAll(tally.refusedByService, receiver.itemKind, 'refused');
  stats.truncatedAttributeValues += limiter.truncatedValues;
  stats.droppedAttributes += limiter.droppedAttributes;
  if (limiter.truncatedValues > 0) {
    tally.warn(
      `attribute values truncated to ${limits.maxAttributeValueLength} characters`,
      limiter.truncatedValues,
    );
  }
  if (limiter.droppedAttributes > 0) {
    tally.warn(`attributes dropped over the limit of ${limits.maxAttributes}`, limiter.droppedAttributes);
  }

  if (records.length > 0) {
    const byService = new Map<string, number>();
    for (const r of records) {
      byService.set(r.service, (byService.get(r.service) ?? 0) + 1);
    }
    try {
      await withTimeout(receiver.append(sink, records), limits.sinkTimeoutMs);
    } catch (e) {
      stats.addAll(byService, receiver.itemKind, 'dropped');
      const retryAfter = Math.max(1, Math.ceil(safePressure(sink).retryAfterSeconds));
      const why =
        e instanceof SinkTimeout
          ? `the store did not answer within ${limits.sinkTimeoutMs} ms`
          : 'the store could not take them';
      ctx.onInternalError?.(`${records.length} ${receiver.unit} not stored: ${why}`, e);
      return receiver.failure(
        encoding,
        503,
        `${records.length} ${receiver.unit} not stored: ${why}; retry later`,
        retryAfter,
      );
    }
    stats.addAll(byService, receiver.itemKind, 'stored');
  }

  const message = tally.message(receiver.unit);
  return receiver.success(
    encoding,
    tally.rejected > 0 || message !== '' ? { rejected: tally.rejected, errorMessage: message } : null,
  );
}

function describe(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new SinkTimeout()), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A sink whose pressure() throws is treated as not accepting for a second. */
export function safePressure(sink: TelemetrySink): {
  accepting: boolean;
  retryAfterSeconds: number;
  reason?: string;
} {
  try {
    const p = sink.pressure();
    return {
      accepting: p.accepting,
      retryAfterSeconds: p.retryAfterSeconds,
      ...(p.reason ? { reason: p.reason } : {}),
    };
  } catch {
    return { accepting: false, retryAfterSeconds: 1, reason: 'the store cannot report its state' };
  }
}
