import { promises as dns } from 'node:dns';
import { isIPv6 } from 'node:net';
import type { Logger } from 'pino';
import { ConfigError, type BaseConfig } from './config.ts';
import { NoInstanceError, type Discovery, type Instance, type SelfRegistration } from './discovery-types.ts';
import { backoffDelay, RegistryHttpClient, type BackoffOptions } from './registry-client.ts';
import { DEFAULT_TTL_SECONDS, type InstanceView } from './registry-protocol.ts';
import { RegistryWatch } from './registry-watch.ts';

/** The discovery the service's config asks for. A DNS config without DNS_PORT is refused here, at start. */
export function createDiscovery(config: BaseConfig, log: Logger): Discovery {
  if (config.DISCOVERY === 'dns') {
    if (config.DNS_PORT === undefined) {
      throw new ConfigError(
        'DNS_PORT is required when DISCOVERY=dns (the port every service listens on in its own network namespace)',
      );
    }
    return new DnsDiscovery({ hostTemplate: config.DNS_HOST_TEMPLATE, port: config.DNS_PORT, log });
  }
  return new RegistryDiscovery({ registryUrl: config.REGISTRY_URL, log });
}

/** Round-robin position per service, tolerant of the list changing under it. */
class RoundRobin {
  readonly #next = new Map<string, number>();

  choose<T>(service: string, list: readonly T[]): T | undefined {
    if (list.length === 0) return undefined;
    const index = (this.#next.get(service) ?? 0) % list.length;
    this.#next.set(service, index + 1);
    return list[index];
  }
}

export interface RegistryDiscoveryOptions {
  readonly registryUrl: string;
  readonly log: Logger;
  /** TTL this instance registers with; heartbeats go every third of it. */
  readonly ttlSeconds?: number;
  /** Deadline of each call to the registry. */
  readonly requestTimeoutMs?: number;
  /** Silence on the watch stream longer than this means it is dead. */
  readonly watchIdleTimeoutMs?: number;
  readonly backoff?: BackoffOptions;
}

const DEREGISTER_TIMEOUT_MS = 1_000;
/** Minimum gap between two direct lookups of one service while the watch has no snapshot. */
const LOOKUP_MIN_GAP_MS = 500;

/**
 * Discovery through the registry: registers itself, heartbeats, and mirrors the registry through
 * the watch stream into a local cache. Picks come from the cache, so traffic keeps flowing while
 * the registry is down; only a service never seen before needs the registry to answer.
 *
 * A caller that does not register (the registry itself, tools) opens the watch stream only when it
 * first asks for a service.
 */
export class RegistryDiscovery implements Discovery {
  readonly mode = 'registry' as const;
  readonly #http: RegistryHttpClient;
  readonly #watch: RegistryWatch;
  readonly #log: Logger;
  readonly #ttlSeconds: number;
  readonly #backoff: BackoffOptions;
  readonly #cache = new Map<string, Instance[]>();
  readonly #roundRobin = new RoundRobin();
  readonly #lookups = new Map<string, Promise<void>>();
  readonly #lastLookup = new Map<string, number>();
  /** Bumped by every snapshot; a direct lookup that started before one must not overwrite it. */
  #generation = 0;
  /** The cache mirrors the registry (a snapshot arrived on the current stream). */
  #mirroring = false;
  #self: SelfRegistration | undefined;
  #registered = false;
  #keepAliveFailures = 0;
  #keepAliveTimer: NodeJS.Timeout | undefined;
  #keepAliveRun: Promise<void> | undefined;
  readonly #keepAliveAbort = new AbortController();
  #reachable = true;
  #started = false;
  #stopped = false;

  constructor(options: RegistryDiscoveryOptions) {
    this.#log = options.log.child({ component: 'discovery' });
    this.#ttlSeconds = options.ttlSeconds ?? DEFAULT_TTL_SECONDS;
    this.#backoff = options.backoff ?? {};
    this.#http = new RegistryHttpClient({
      registryUrl: options.registryUrl,
      ...(options.requestTimeoutMs ? { timeoutMs: options.requestTimeoutMs } : {}),
    });
    this.#watch = new RegistryWatch({
      url: this.#http.url('/v1/watch'),
      dispatcher: this.#http.dispatcher,
      log: this.#log,
      backoff: this.#backoff,
      ...(options.requestTimeoutMs ? { connectTimeoutMs: options.requestTimeoutMs } : {}),
      ...(options.watchIdleTimeoutMs ? { idleTimeoutMs: options.watchIdleTimeoutMs } : {}),
      listener: {
        snapshot: (services) => {
          this.#generation += 1;
          this.#mirroring = true;
          this.#cache.clear();
          for (const { service, instances } of services) this.#cache.set(service, instances.map(toInstance));
          this.#log.debug({ services: services.length }, 'registry snapshot received');
        },
        registered: (view) => {
          const list = (this.#cache.get(view.service) ?? []).filter((i) => i.id !== view.id);
          list.push(toInstance(view));
          this.#cache.set(view.service, list);
        },
        removed: (view, reason) => {
          const list = this.#cache.get(view.service);
          if (list)
            this.#cache.set(
              view.service,
              list.filter((i) => i.id !== view.id),
            );
          this.#log.debug({ service: view.service, instanceId: view.id, reason }, 'instance left');
        },
        down: (error) => {
          if (this.#mirroring)
            this.#log.warn(
              { err: error },
              'registry watch lost; serving cached instances while reconnecting',
            );
          this.#mirroring = false;
        },
      },
    });
  }

  async start(self?: SelfRegistration): Promise<void> {
    if (this.#started) throw new Error('discovery already started');
    this.#started = true;
    if (!self) return;
    this.#self = self;
    // One attempt inline so a healthy cluster starts registered; after that, never block start-up.
    await this.#keepAlive();
    if (!this.#registered)
      this.#log.warn(
        { registry: this.#http.baseUrl },
        'registry not reachable; registering in the background',
      );
    this.#scheduleKeepAlive();
    this.#watch.start();
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearTimeout(this.#keepAliveTimer);
    this.#keepAliveAbort.abort();
    await this.#keepAliveRun;
    const watchStopped = this.#watch.stop();
    const self = this.#self;
    if (self && this.#registered) {
      this.#registered = false;
      try {
        await this.#http.deregister(self.service, self.instanceId, DEREGISTER_TIMEOUT_MS);
        this.#log.info('deregistered from the registry');
      } catch (error) {
        // Best effort: the registry evicts us after the TTL anyway.
        this.#log.warn(
          { err: error },
          'deregistering failed; the registry will evict this instance after its TTL',
        );
      }
    }
    await watchStopped;
    await this.#http.close();
  }

  async pick(service: string): Promise<Instance> {
    const list = await this.instances(service);
    const chosen = this.#roundRobin.choose(service, list);
    if (!chosen) throw new NoInstanceError(service);
    return chosen;
  }

  async instances(service: string): Promise<readonly Instance[]> {
    if (!this.#stopped && !this.#watch.started) this.#watch.start();
    const cached = this.#cache.get(service);
    if (cached && cached.length > 0) return cached;
    // While mirroring, an empty cache is the truth; otherwise the registry may know more than we do.
    if (!this.#mirroring && !this.#stopped) await this.#lookup(service);
    return this.#cache.get(service) ?? [];
  }

  connected(): boolean {
    return this.#watch.open && this.#reachable;
  }

  #lookup(service: string): Promise<void> {
    const inFlight = this.#lookups.get(service);
    if (inFlight) return inFlight;
    const now = Date.now();
    if (now - (this.#lastLookup.get(service) ?? 0) < LOOKUP_MIN_GAP_MS) return Promise.resolve();
    this.#lastLookup.set(service, now);
    const generation = this.#generation;
    const run = this.#http
      .lookup(service)
      .then((views) => {
        if (generation === this.#generation && !this.#mirroring)
          this.#cache.set(service, views.map(toInstance));
      })
      .catch((error: unknown) => this.#log.debug({ err: error, service }, 'registry lookup failed'))
      .finally(() => this.#lookups.delete(service));
    this.#lookups.set(service, run);
    return run;
  }

  /** One heartbeat, or a registration when the registry does not know us (yet or any more). */
  #keepAlive(): Promise<void> {
    const run = (async () => {
      const self = this.#self;
      if (!self || this.#stopped) return;
      const signal = this.#keepAliveAbort.signal;
      try {
        if (this.#registered && !(await this.#http.heartbeat(self.service, self.instanceId, signal))) {
          this.#log.warn(
            'the registry no longer knows this instance (evicted, or restarted without it); registering again',
          );
          this.#registered = false;
        }
        if (!this.#registered) {
          const { created } = await this.#http.register(self, this.#ttlSeconds, signal);
          this.#registered = true;
          this.#log.info(
            { registry: this.#http.baseUrl, address: self.address, created },
            'registered with the registry',
          );
        }
        this.#keepAliveFailures = 0;
        if (!this.#reachable) this.#log.info('registry reachable again');
        this.#reachable = true;
      } catch (error) {
        if (this.#stopped) return;
        this.#keepAliveFailures += 1;
        if (this.#reachable)
          this.#log.warn({ err: error }, 'registry unreachable; retrying, cached instances stay in use');
        this.#reachable = false;
      }
    })();
    this.#keepAliveRun = run;
    return run;
  }

  #scheduleKeepAlive(): void {
    if (this.#stopped) return;
    const heartbeatMs = (this.#ttlSeconds * 1000) / 3;
    // Registered: beat on time even while failing (a refused connection is cheap and the TTL is short).
    const delay = this.#registered
      ? heartbeatMs
      : Math.min(heartbeatMs, backoffDelay(Math.max(0, this.#keepAliveFailures - 1), this.#backoff));
    this.#keepAliveTimer = setTimeout(() => {
      void this.#keepAlive().then(() => this.#scheduleKeepAlive());
    }, delay);
  }
}

function toInstance(view: InstanceView): Instance {
  return { id: view.id, service: view.service, address: view.address, meta: view.meta };
}

export interface DnsDiscoveryOptions {
  /** `{service}` is replaced by the service name. */
  readonly hostTemplate: string;
  readonly port: number;
  readonly log: Logger;
  /** How long one answer is reused. */
  readonly cacheMs?: number;
  readonly lookupTimeoutMs?: number;
}

type DnsAnswer = { readonly at: number; readonly instances: readonly Instance[] };

/**
 * Discovery through DNS (container runtimes: one name per service, one address per replica).
 * Answers are kept about a second; when DNS fails, the last answer keeps serving.
 */
export class DnsDiscovery implements Discovery {
  readonly mode = 'dns' as const;
  readonly #hostTemplate: string;
  readonly #port: number;
  readonly #log: Logger;
  readonly #cacheMs: number;
  readonly #lookupTimeoutMs: number;
  readonly #answers = new Map<string, DnsAnswer>();
  readonly #inFlight = new Map<string, Promise<readonly Instance[]>>();
  readonly #roundRobin = new RoundRobin();
  #ok = false;

  constructor(options: DnsDiscoveryOptions) {
    if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535) {
      throw new ConfigError(`DNS_PORT must be a port number (1..65535), not ${options.port}`);
    }
    if (!options.hostTemplate.trim()) throw new ConfigError('DNS_HOST_TEMPLATE must not be empty');
    this.#hostTemplate = options.hostTemplate;
    this.#port = options.port;
    this.#log = options.log.child({ component: 'discovery' });
    this.#cacheMs = options.cacheMs ?? 1_000;
    this.#lookupTimeoutMs = options.lookupTimeoutMs ?? 2_000;
  }

  /** DNS has nothing to register with: the runtime names the containers. */
  async start(): Promise<void> {}

  async stop(): Promise<void> {}

  connected(): boolean {
    return this.#ok;
  }

  hostFor(service: string): string {
    return this.#hostTemplate.replaceAll('{service}', service);
  }

  async pick(service: string): Promise<Instance> {
    const chosen = this.#roundRobin.choose(service, await this.instances(service));
    if (!chosen) throw new NoInstanceError(service);
    return chosen;
  }

  async instances(service: string): Promise<readonly Instance[]> {
    const answer = this.#answers.get(service);
    if (answer && Date.now() - answer.at < this.#cacheMs) return answer.instances;
    let inFlight = this.#inFlight.get(service);
    if (!inFlight) {
      inFlight = this.#resolve(service, answer).finally(() => this.#inFlight.delete(service));
      this.#inFlight.set(service, inFlight);
    }
    return inFlight;
  }

  async #resolve(service: string, previous: DnsAnswer | undefined): Promise<readonly Instance[]> {
    const host = this.hostFor(service);
    try {
      const addresses = await withTimeout(
        dns.lookup(host, { all: true }),
        this.#lookupTimeoutMs,
        `DNS lookup of ${host}`,
      );
      // Services listen on IPv4 in every runtime; an IPv6 answer is used only when there is nothing else.
      const v4 = addresses.filter((a) => a.family === 4);
      const chosen = (v4.length > 0 ? v4 : addresses).map((a) => a.address);
      const instances = [...new Set(chosen)].sort().map((ip) => this.#instance(service, ip));
      this.#remember(service, instances, true);
      return instances;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // The name does not exist: DNS answered, and the answer is "no instances".
      if (code === 'ENOTFOUND') {
        this.#remember(service, [], true);
        return [];
      }
      if (this.#ok) this.#log.warn({ err: error, host }, 'DNS lookup failed; using the last answer');
      this.#ok = false;
      return previous?.instances ?? [];
    }
  }

  #remember(service: string, instances: readonly Instance[], ok: boolean): void {
    this.#answers.set(service, { at: Date.now(), instances });
    this.#ok = ok;
  }

  #instance(service: string, ip: string): Instance {
    const address = isIPv6(ip) ? `[${ip}]:${this.#port}` : `${ip}:${this.#port}`;
    return { id: `${service}@${address}`, service, address, meta: { source: 'dns' } };
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(Object.assign(new Error(`${what} took longer than ${ms} ms`), { code: 'ETIMEOUT' })),
      ms,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
