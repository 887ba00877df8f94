import { Agent, request } from 'undici';
import type { z } from 'zod';
import type { SelfRegistration } from './discovery-types.ts';
import {
  instancePath,
  instanceViewSchema,
  servicePath,
  serviceViewSchema,
  type InstanceView,
  type RegisterBody,
} from './registry-protocol.ts';

/** The registry answered something other than what the call expects. */
export class RegistryAnswerError extends Error {
  override readonly name = 'RegistryAnswerError';
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export interface BackoffOptions {
  readonly initialMs?: number;
  readonly maxMs?: number;
}

/**
 * Exponential backoff with "equal jitter": half the delay is fixed so retries never hammer, half
 * is random so a cluster that lost the registry together does not come back in lockstep.
 */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const initial = options.initialMs ?? 200;
  const max = options.maxMs ?? 5_000;
  const ceiling = Math.min(max, initial * 2 ** Math.min(attempt, 20));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

interface CallOptions {
  readonly body?: unknown;
  readonly signal?: AbortSignal;
  readonly timeoutMs?: number;
}

/** Plain HTTP calls to the registry, each with a deadline, over one keep-alive connection pool. */
export class RegistryHttpClient {
  readonly baseUrl: string;
  readonly dispatcher: Agent;
  readonly #timeoutMs: number;

  constructor(options: { registryUrl: string; timeoutMs?: number }) {
    this.baseUrl = options.registryUrl.replace(/\/+$/, '');
    this.#timeoutMs = options.timeoutMs ?? 2_000;
    this.dispatcher = new Agent({
      keepAliveTimeout: 10_000,
      keepAliveMaxTimeout: 30_000,
      connect: { timeout: this.#timeoutMs },
    });
  }

  url(path: string): string {
    return `${this.baseUrl}${path}`;
  }

  async register(
    self: SelfRegistration,
    ttlSeconds: number,
    signal?: AbortSignal,
  ): Promise<{ created: boolean; instance: InstanceView }> {
    const body: RegisterBody = { address: self.address, meta: { ...self.meta }, ttlSeconds };
    const answer = await this.#call('PUT', instancePath(self.service, self.instanceId), { body, signal });
    if (answer.status !== 200 && answer.status !== 201) throw unexpected('register', answer);
    return { created: answer.status === 201, instance: validate(instanceViewSchema, answer, 'register') };
  }

  /** Undefined when the registry does not know the instance (evicted, or a registry without its snapshot). */
  async heartbeat(
    service: string,
    instanceId: string,
    signal?: AbortSignal,
  ): Promise<InstanceView | undefined> {
    const answer = await this.#call('PUT', `${instancePath(service, instanceId)}/heartbeat`, { signal });
    if (answer.status === 404) return undefined;
    if (answer.status !== 200) throw unexpected('heartbeat', answer);
    return validate(instanceViewSchema, answer, 'heartbeat');
  }

  /** False when the registry did not know the instance. */
  async deregister(service: string, instanceId: string, timeoutMs?: number): Promise<boolean> {
    const answer = await this.#call(
      'DELETE',
      instancePath(service, instanceId),
      timeoutMs ? { timeoutMs } : {},
    );
    if (answer.status === 404) return false;
    if (answer.status !== 204 && answer.status !== 200) throw unexpected('deregister', answer);
    return true;
  }

  async lookup(service: string, signal?: AbortSignal): Promise<InstanceView[]> {
    const answer = await this.#call('GET', servicePath(service), { signal });
    if (answer.status !== 200) throw unexpected('lookup', answer);
    return validate(serviceViewSchema, answer, 'lookup').instances;
  }

  /** Abort whatever is still in flight and drop the pooled connections. */
  async close(): Promise<void> {
    await this.dispatcher.destroy();
  }

  async #call(
    method: 'GET' | 'PUT' | 'DELETE',
    path: string,
    options: CallOptions,
  ): Promise<{ status: number; body: unknown }> {
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
    const deadline = AbortSignal.timeout(timeoutMs);
    const signal = options.signal ? AbortSignal.any([deadline, options.signal]) : deadline;
    const hasBody = options.body !== undefined;
    const response = await request(this.url(path), {
      method,
      dispatcher: this.dispatcher,
      signal,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      headers: hasBody
        ? { 'content-type': 'application/json', accept: 'application/json' }
        : { accept: 'application/json' },
      body: hasBody ? JSON.stringify(options.body) : null,
    });
    const text = await response.body.text();
    let body: unknown = text;
    if (text && /json/.test(String(response.headers['content-type'] ?? ''))) {
      try {
        body = JSON.parse(text);
      } catch {
        throw new RegistryAnswerError(
          response.statusCode,
          `the registry answered ${method} ${path} with malformed JSON`,
        );
      }
    }
    return { status: response.statusCode, body };
  }
}

function unexpected(call: string, answer: { status: number; body: unknown }): RegistryAnswerError {
  const detail = (answer.body as { detail?: unknown } | null)?.detail;
  return new RegistryAnswerError(
    answer.status,
    `registry ${call} answered ${answer.status}${typeof detail === 'string' ? `: ${detail}` : ''}`,
  );
}

function validate<S extends z.ZodType>(
  schema: S,
  answer: { status: number; body: unknown },
  call: string,
): z.infer<S> {
  const parsed = schema.safeParse(answer.body);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new RegistryAnswerError(
      answer.status,
      `registry ${call} answer has an unexpected shape${first ? ` (${first.path.join('.')}: ${first.message})` : ''}`,
    );
  }
  return parsed.data;
}
