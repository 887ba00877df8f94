// Test support shared by the users, tweets, timeline and realtime specs: a real registry and real
// services on loopback, started in-process, plus a plain HTTP caller and a Server-Sent Events reader.
// It lives in a service folder because it starts the registry service, which the kit may not import.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request, type Dispatcher } from 'undici';
import type { z } from 'zod';
import type { baseConfigSchema } from '../../kit/config.ts';
import { startService, type RunningService, type ServiceDefinition } from '../../kit/server.ts';
import { freePort, testEnv, waitFor } from '../../kit/testing.ts';
import { registryService } from '../registry/service.ts';

interface Slot {
  readonly port: number;
  readonly dataDir: string;
  readonly definition: ServiceDefinition<typeof baseConfigSchema>;
  readonly overrides: Record<string, string>;
  running: RunningService | undefined;
}

/** A registry plus whichever services a test starts; stop and start keep a service's port and data. */
export class TestCluster {
  readonly registry: RunningService;
  private readonly slots = new Map<string, Slot>();

  private constructor(registry: RunningService) {
    this.registry = registry;
  }

  static async start(): Promise<TestCluster> {
    const port = await freePort();
    const registry = await startService(
      registryService,
      testEnv('registry', {
        PORT: String(port),
        ADVERTISE_ADDRESS: `127.0.0.1:${port}`,
        REGISTRY_URL: `http://127.0.0.1:${port}`,
      }),
    );
    return new TestCluster(registry);
  }

  /** Start a service (first time: on a fresh port and DATA_DIR; again after stop: the same ones). */
  async start<S extends typeof baseConfigSchema>(
    service: string,
    definition: ServiceDefinition<S>,
    overrides: Record<string, string> = {},
  ): Promise<RunningService<z.infer<S>>> {
    let slot = this.slots.get(service);
    if (slot?.running) throw new Error(`${service} is already running`);
    if (!slot) {
      slot = {
        port: await freePort(),
        dataDir: mkdtempSync(join(tmpdir(), `chaoscope-${service}-`)),
        definition: definition as unknown as ServiceDefinition<typeof baseConfigSchema>,
        overrides,
        running: undefined,
      };
      this.slots.set(service, slot);
    }
    const running = await startService(
      definition,
      testEnv(service, {
        PORT: String(slot.port),
        ADVERTISE_ADDRESS: `127.0.0.1:${slot.port}`,
        REGISTRY_URL: this.registry.url,
        DATA_DIR: slot.dataDir,
        ...slot.overrides,
        ...overrides,
      }),
    );
    slot.running = running;
    return running;
  }

  /** Start a stopped service again with the same definition, port and data. */
  async restart(service: string): Promise<RunningService> {
    const slot = this.slots.get(service);
    if (!slot) throw new Error(`${service} was never started`);
    return this.start(service, slot.definition);
  }

  async stop(service: string): Promise<void> {
    const slot = this.slots.get(service);
    const running = slot?.running;
    if (!slot || !running) return;
    slot.running = undefined;
    await running.close();
  }

  get(service: string): RunningService {
    const running = this.slots.get(service)?.running;
    if (!running) throw new Error(`${service} is not running`);
    return running;
  }

  url(service: string): string {
    return this.get(service).url;
  }

  dataDir(service: string): string {
    const slot = this.slots.get(service);
    if (!slot) throw new Error(`${service} was never started`);
    return slot.dataDir;
  }

  /** Wait until the registry lists the service (callers learn it through their watch streams). */
  async registered(service: string): Promise<void> {
    await waitFor(
      async () => {
        const answer = await call(this.registry.url, 'GET', `/v1/services/${service}`);
        return (answer.body as { instances?: unknown[] }).instances?.length;
      },
      { what: `${service} in the registry` },
    );
  }

  async close(): Promise<void> {
    for (const service of [...this.slots.keys()].reverse()) await this.stop(service);
    await this.registry.close();
    for (const slot of this.slots.values()) rmSync(slot.dataDir, { recursive: true, force: true });
  }
}

export interface Answer<T = Record<string, unknown>> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: T;
}

/** One real HTTP request; JSON in and out. */
export async function call<T = Record<string, unknown>>(
  base: string,
  method: Dispatcher.HttpMethod,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Answer<T>> {
  const response = await request(new URL(path, base), {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? null : typeof body === 'string' ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(5_000),
  });
  const text = await response.body.text();
  const type = String(response.headers['content-type'] ?? '');
  return {
    status: response.statusCode,
    headers: response.headers,
    body: (text && type.includes('json') ? JSON.parse(text) : text) as T,
  };
}

export interface SseEvent {
  event: string;
  data: string;
  id?: string;
}

/** A Server-Sent Events reader that keeps every event and comment it has seen. */
export class SseReader {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly events: SseEvent[] = [];
  readonly comments: string[] = [];
  private readonly abort: AbortController;
  private ended = false;

  private constructor(response: Dispatcher.ResponseData, abort: AbortController) {
    this.status = response.statusCode;
    this.headers = response.headers;
    this.abort = abort;
    void this.consume(response.body);
  }

  static async open(url: string): Promise<SseReader> {
    const abort = new AbortController();
    const response = await request(url, {
      signal: abort.signal,
      headers: { accept: 'text/event-stream' },
      bodyTimeout: 0,
    });
    return new SseReader(response, abort);
  }

  get closed(): boolean {
    return this.ended;
  }

  /** Events of one type, data parsed as JSON. */
  data<T = Record<string, unknown>>(event: string): T[] {
    return this.events.filter((e) => e.event === event).map((e) => JSON.parse(e.data) as T);
  }

  async next(predicate: (event: SseEvent) => boolean, what = 'an event'): Promise<SseEvent> {
    return waitFor(() => this.events.find(predicate), { what });
  }

  close(): void {
    this.abort.abort();
  }

  private async consume(body: AsyncIterable<Buffer>): Promise<void> {
    let buffer = '';
    try {
      for await (const chunk of body) {
        buffer += chunk.toString('utf8');
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          this.parse(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
      }
    } catch {
      // Aborted by close(), or the server ended the stream.
    } finally {
      this.ended = true;
    }
  }

  private parse(block: string): void {
    const event: SseEvent = { event: 'message', data: '' };
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) this.comments.push(line.slice(1).trim());
      else if (line.startsWith('event: ')) event.event = line.slice(7);
      else if (line.startsWith('data: ')) data.push(line.slice(6));
      else if (line.startsWith('id: ')) event.id = line.slice(4);
    }
    if (data.length > 0) this.events.push({ ...event, data: data.join('\n') });
  }
}

/** A profile as auth's outbox would deliver it. */
export async function createUser(usersUrl: string, handle: string): Promise<void> {
  const answer = await call(usersUrl, 'PUT', `/v1/users/${handle}`, {
    handle,
    displayName: `User ${handle}`,
    createdAt: new Date().toISOString(),
  });
  if (answer.status !== 201 && answer.status !== 200)
    throw new Error(`creating ${handle} answered ${answer.status}`);
}

export async function follow(usersUrl: string, follower: string, target: string): Promise<void> {
  const answer = await call(usersUrl, 'PUT', `/v1/users/${follower}/following/${target}`);
  if (answer.status !== 204) throw new Error(`${follower} following ${target} answered ${answer.status}`);
}
