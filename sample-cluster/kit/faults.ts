import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { Readable, Transform } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { z } from 'zod';
import { HttpProblem } from './problem.ts';

const targetSchema = {
  /** Chance that a matching request gets the fault, 0..1. */
  probability: z.number().min(0).max(1).default(1),
  /** Path prefix the fault applies to ("/v1/timelines"); every route when absent. */
  route: z.string().startsWith('/').max(300).optional(),
  method: z.enum(['GET', 'POST', 'PUT', 'DELETE', 'PATCH']).optional(),
  /** Only requests from this calling service (x-chaoscope-caller). */
  caller: z
    .string()
    .regex(/^[a-z][a-z0-9-]*$/)
    .max(50)
    .optional(),
  /** Rolled back automatically after this long. */
  durationMs: z
    .number()
    .int()
    .min(1)
    .max(24 * 3600_000)
    .optional(),
  label: z.string().max(200).optional(),
};

export const faultSpecSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('latency'),
      latencyMs: z.number().int().min(0).max(120_000),
      jitterMs: z.number().int().min(0).max(120_000).default(0),
      ...targetSchema,
    })
    .strict(),
  z
    .object({
      kind: z.literal('error'),
      status: z.number().int().min(400).max(599).default(503),
      ...targetSchema,
    })
    .strict(),
  z.object({ kind: z.literal('abort'), ...targetSchema }).strict(),
  z
    .object({
      kind: z.literal('hang'),
      maxMs: z.number().int().min(1).max(600_000).default(120_000),
      ...targetSchema,
    })
    .strict(),
  z
    .object({
      kind: z.literal('bandwidth'),
      bytesPerSecond: z.number().int().min(64).max(1e9),
      ...targetSchema,
    })
    .strict(),
]);

export type FaultSpec = z.infer<typeof faultSpecSchema>;

export type ActiveFault = FaultSpec & {
  readonly id: string;
  readonly createdAt: string;
  readonly expiresAt: string | null;
  applied: number;
};

export interface FaultApplied {
  readonly faultId: string;
  readonly kind: FaultSpec['kind'];
  readonly method: string;
  readonly path: string;
  readonly caller: string | null;
}

/** Routes that stay reachable under any fault, so an operator can always see and undo it. */
const EXEMPT = /^\/(admin|healthz|readyz)(\/|$|\?)/;

/**
 * Faults injected into this service's own request handling. It works on every runtime (no kernel
 * netem needed): latency and jitter, error answers, aborted connections, hangs, slow bodies.
 */
export class FaultLayer {
  private readonly faults = new Map<string, ActiveFault>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly events = new EventEmitter();
  private readonly log: Logger | undefined;

  constructor(log?: Logger) {
    this.log = log;
  }

  add(spec: FaultSpec): ActiveFault {
    const id = randomUUID();
    const now = Date.now();
    const fault: ActiveFault = {
      ...spec,
      id,
      createdAt: new Date(now).toISOString(),
      expiresAt: spec.durationMs ? new Date(now + spec.durationMs).toISOString() : null,
      applied: 0,
    };
    this.faults.set(id, fault);
    if (spec.durationMs) {
      const timer = setTimeout(() => this.remove(id, 'expired'), spec.durationMs);
      timer.unref();
      this.timers.set(id, timer);
    }
    this.log?.warn({ fault }, `fault ${spec.kind} injected`);
    this.events.emit('added', fault);
    return fault;
  }

  remove(id: string, reason: 'removed' | 'expired' = 'removed'): boolean {
    const fault = this.faults.get(id);
    if (!fault) return false;
    this.faults.delete(id);
    clearTimeout(this.timers.get(id));
    this.timers.delete(id);
    this.log?.info({ faultId: id, reason }, `fault ${fault.kind} rolled back`);
    this.events.emit('removed', { fault, reason });
    return true;
  }

  clear(): number {
    const ids = [...this.faults.keys()];
    for (const id of ids) this.remove(id);
    return ids.length;
  }

  list(): ActiveFault[] {
    return [...this.faults.values()].map((f) => ({ ...f }));
  }

  onApplied(listener: (event: FaultApplied) => void): () => void {
    this.events.on('applied', listener);
    return () => this.events.off('applied', listener);
  }

  /** Faults that match a request and win their probability roll. */
  select(
    method: string,
    path: string,
    caller: string | null,
    random: () => number = Math.random,
  ): ActiveFault[] {
    const chosen: ActiveFault[] = [];
    for (const fault of this.faults.values()) {
      if (fault.method && fault.method !== method) continue;
      if (fault.route && !path.startsWith(fault.route)) continue;
      if (fault.caller && fault.caller !== caller) continue;
      if (fault.probability < 1 && random() >= fault.probability) continue;
      chosen.push(fault);
    }
    return chosen;
  }

  install(app: FastifyInstance): void {
    app.addHook('onRequest', async (request, reply) => {
      if (this.faults.size === 0 || EXEMPT.test(request.url)) return;
      const caller = headerValue(request.headers['x-chaoscope-caller']);
      const path = request.url.split('?')[0] ?? request.url;
      for (const fault of this.select(request.method, path, caller)) {
        fault.applied += 1;
        this.events.emit('applied', {
          faultId: fault.id,
          kind: fault.kind,
          method: request.method,
          path,
          caller,
        } satisfies FaultApplied);
        reply.header('x-chaoscope-fault', fault.kind);
        await this.apply(fault, request, reply);
        if (reply.sent) return;
      }
    });
    app.addHook('onSend', async (request, _reply, payload) => {
      const rate = (request as FastifyRequest & { chaoscopeBandwidth?: number }).chaoscopeBandwidth;
      if (!rate || payload === null || payload === undefined) return payload;
      return throttle(payload, rate);
    });
  }

  private async apply(fault: ActiveFault, request: FastifyRequest, reply: FastifyReply): Promise<void> {
    switch (fault.kind) {
      case 'latency': {
        const jitter = fault.jitterMs ? (Math.random() * 2 - 1) * fault.jitterMs : 0;
        await sleep(Math.max(0, fault.latencyMs + jitter));
        return;
      }
      case 'error':
        throw new HttpProblem(fault.status, `fault injected by chaoscope (${fault.id})`, {
          type: 'https://chaoscope.dev/problems/injected-fault',
          extensions: { faultId: fault.id },
        });
      case 'abort':
        // A reset connection, as a crashed peer or a proxy cut would look from the caller.
        reply.hijack();
        request.raw.socket.resetAndDestroy();
        return;
      case 'hang': {
        reply.hijack();
        const socket = request.raw.socket;
        await Promise.race([sleep(fault.maxMs), new Promise((resolve) => socket.once('close', resolve))]);
        socket.destroy();
        return;
      }
      case 'bandwidth':
        (request as FastifyRequest & { chaoscopeBandwidth?: number }).chaoscopeBandwidth =
          fault.bytesPerSecond;
        return;
    }
  }
}

function headerValue(value: string | string[] | undefined): string | null {
  if (Array.isArray(value)) return value[0] ?? null;
  return value ?? null;
}

/** Re-emit a response body at a limited byte rate, in 10 slices a second. */
function throttle(payload: unknown, bytesPerSecond: number): Readable {
  const source =
    payload instanceof Readable
      ? payload
      : Readable.from([
          typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload),
        ]);
  const slice = Math.max(1, Math.floor(bytesPerSecond / 10));
  return source.pipe(
    new Transform({
      transform(chunk: Buffer | string, _encoding, done) {
        const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
        const emit = async () => {
          for (let offset = 0; offset < buffer.length; offset += slice) {
            this.push(buffer.subarray(offset, offset + slice));
            await sleep(100);
          }
        };
        emit().then(() => done(), done);
      },
    }),
  );
}
