/**
 * What feeds the event bus while someone listens (started on the first subscriber, stopped after
 * the last): the cluster's status (→ cluster.status, service.state), the services' admin routes
 * (→ breaker.snapshot, breaker.transition, fault.changed), the collector (→ collector.stats),
 * the services' log files (→ log.line) and auth with the gateway's refusals (→ auth.event).
 * Each loop waits for its previous round, so a slow cluster slows the loop down instead of
 * piling requests up.
 */
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import type { ClusterStatus as ApiClusterStatus, ServiceName } from '../api/schemas.ts';
import { DockerRuntime } from '../../sample-cluster/runtime/docker/runtime.ts';
import { AuthEventFeed } from './auth-feed.ts';
import type { ControlContext } from './context.ts';
import { onEach, toBreakerInfo, toFaultInfo } from './handlers/chaos.ts';

export interface WatcherIntervals {
  readonly clusterMs: number;
  readonly adminMs: number;
  readonly collectorMs: number;
  readonly logsMs: number;
}

export const DEFAULT_INTERVALS: WatcherIntervals = {
  clusterMs: 1_000,
  adminMs: 1_000,
  collectorMs: 1_000,
  logsMs: 500,
};

/** New bytes read from one log per round, at most: a flood of logs must not flood the clients. */
const MAX_LOG_BYTES_PER_ROUND = 64 * 1024;

export class Watchers {
  readonly #ctx: ControlContext;
  readonly #intervals: WatcherIntervals;
  #running = false;
  readonly #timers = new Set<NodeJS.Timeout>();
  #lastStatus: ApiClusterStatus | null | undefined = undefined;
  /** Per breaker (instance/name): the time of the last transition announced. */
  readonly #breakerMarks = new Map<string, string>();
  /** Per log file: the offset read up to. */
  readonly #logOffsets = new Map<string, number>();
  /** The engine's events stream of a Docker cluster: a container's change triggers a look at once. */
  #engineWatch: { clusterId: string; close(): void } | null = null;
  #lookSoon = false;
  /** auth.event: auth's own events and the gateway's 401/403 bursts. */
  readonly #auth: AuthEventFeed;

  constructor(ctx: ControlContext, intervals: WatcherIntervals = DEFAULT_INTERVALS) {
    this.#ctx = ctx;
    this.#intervals = intervals;
    this.#auth = new AuthEventFeed(ctx);
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#lastStatus = undefined;
    this.#loop(this.#intervals.clusterMs, () => this.#cluster());
    this.#loop(this.#intervals.adminMs, () => this.#admin());
    this.#loop(this.#intervals.collectorMs, () => this.#collector());
    this.#loop(this.#intervals.logsMs, () => this.#logs());
    this.#auth.reset();
    this.#loop(this.#intervals.adminMs, () => this.#auth.round());
  }

  stop(): void {
    this.#running = false;
    this.#engineWatch?.close();
    this.#engineWatch = null;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }

  #loop(intervalMs: number, round: () => Promise<void>): void {
    const next = () => {
      if (!this.#running) return;
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        round()
          .catch(() => undefined)
          .finally(next);
      }, intervalMs);
      timer.unref();
      this.#timers.add(timer);
    };
    // The first round at once: a new subscriber should not wait a second for the picture.
    round()
      .catch(() => undefined)
      .finally(next);
  }

  async #cluster(): Promise<void> {
    const { cluster } = this.#ctx;
    const found = await cluster.find();
    this.observe(found ? cluster.toApi(found.status) : null);
    await this.#followEngine(found?.runtime, found?.status.clusterId);
  }

  /**
   * The once-a-second look misses the promise of "a container's change is visible within a
   * second" by its own duration; on Docker the engine says when something happened.
   */
  async #followEngine(runtime: unknown, clusterId: string | undefined): Promise<void> {
    if (this.#engineWatch && this.#engineWatch.clusterId === clusterId) return;
    this.#engineWatch?.close();
    this.#engineWatch = null;
    if (!(runtime instanceof DockerRuntime) || !clusterId) return;
    const handle = await runtime.watch(
      () => this.#lookAtOnce(),
      () => {
        // A lost stream is followed again on the next round.
        this.#engineWatch?.close();
        this.#engineWatch = null;
      },
    );
    if (!this.#running || this.#engineWatch) return handle.close();
    this.#engineWatch = { clusterId, close: () => handle.close() };
  }

  #lookAtOnce(): void {
    if (this.#lookSoon || !this.#running) return;
    this.#lookSoon = true;
    // Events come in bursts (kill, die, stop): one look for the burst.
    setTimeout(() => {
      this.#lookSoon = false;
      if (this.#running) void this.#cluster().catch(() => undefined);
    }, 50).unref();
  }

  /**
   * A new look at the cluster, from the watcher's own round or from a handler that just changed it
   * (so a kill is announced as running → killed at once, whatever the watcher saw last).
   */
  observe(now: ApiClusterStatus | null): void {
    const { bus } = this.#ctx;
    const before = this.#lastStatus;
    this.#lastStatus = now;
    if (before !== undefined && JSON.stringify(summary(before)) === JSON.stringify(summary(now))) return;
    bus.publish('cluster.status', { status: now });
    if (before === undefined) return;
    const previous = new Map(
      (before?.services ?? []).flatMap((s) => s.instances.map((i) => [i.id, i] as const)),
    );
    const at = new Date().toISOString();
    for (const service of now?.services ?? []) {
      for (const instance of service.instances) {
        const old = previous.get(instance.id);
        if (old && old.state === instance.state && old.health === instance.health) continue;
        bus.publish('service.state', {
          service: service.name,
          instanceId: instance.id,
          from: old ? { state: old.state, health: old.health } : null,
          to: { state: instance.state, health: instance.health },
          at,
          ...(instance.signal && instance.state !== 'running'
            ? { reason: `ended by ${instance.signal}` }
            : {}),
        });
        if (instance.state !== 'running') this.#ctx.faults.clearInstance(instance.id, 'removed');
      }
    }
  }

  async #admin(): Promise<void> {
    const { cluster, bus, faults, pauses } = this.#ctx;
    const found = await cluster.find();
    if (!found) return;
    const { client, status } = await cluster.admin();
    const targets = (await cluster.running(status)).filter((t) => !pauses.isPaused(t.instance.id));
    const [breakers, faultLists] = await Promise.all([
      onEach(targets, (t) => client.breakers(t.instance.address)),
      onEach(targets, (t) => client.faults(t.instance.address)),
    ]);
    const infos = breakers.results.flatMap(({ target, value }) => value.map((b) => toBreakerInfo(b, target)));
    for (const breaker of infos) {
      const key = `${breaker.instanceId}/${breaker.name}`;
      const mark = this.#breakerMarks.get(key);
      const fresh = breaker.transitions.filter((t) => mark !== undefined && t.at > mark);
      const last = breaker.transitions.at(-1)?.at;
      this.#breakerMarks.set(key, last ?? mark ?? '');
      for (const t of fresh) {
        bus.publish('breaker.transition', {
          service: breaker.service,
          instanceId: breaker.instanceId,
          breaker: breaker.name,
          from: t.from,
          to: t.to,
          at: t.at,
          reason: t.reason,
        });
      }
    }
    bus.publish('breaker.snapshot', { breakers: infos });
    for (const { target, value } of faultLists.results) {
      faults.sync(
        target.instance.id,
        value.map((f) => toFaultInfo(f, target)),
      );
    }
  }

  async #collector(): Promise<void> {
    this.#ctx.bus.publish('collector.stats', await this.#ctx.telemetry.stats());
  }

  async #logs(): Promise<void> {
    const status = this.#lastStatus;
    if (!status?.logs) return;
    const dir = status.logs;
    for (const service of status.services) {
      for (const instance of service.instances) {
        await this.#tail(service.name, instance.id, join(dir, `${instance.id}.log`));
      }
    }
  }

  async #tail(service: ServiceName, instanceId: string, file: string): Promise<void> {
    let handle;
    try {
      handle = await open(file, 'r');
    } catch {
      return;
    }
    try {
      const { size } = await handle.stat();
      const offset = this.#logOffsets.get(file);
      // The first look starts at the end: clients ask service.logs for what came before.
      if (offset === undefined || size < offset) {
        this.#logOffsets.set(file, size);
        return;
      }
      if (size === offset) return;
      const length = Math.min(size - offset, MAX_LOG_BYTES_PER_ROUND);
      const buffer = Buffer.alloc(length);
      await handle.read(buffer, 0, length, offset);
      const text = buffer.toString('utf8');
      const end = text.lastIndexOf('\n');
      // Only whole lines; a partial one waits for its end (unless the round is full of it).
      const consumed =
        end >= 0
          ? Buffer.byteLength(text.slice(0, end + 1))
          : length === MAX_LOG_BYTES_PER_ROUND
            ? length
            : 0;
      this.#logOffsets.set(file, offset + consumed);
      const at = new Date().toISOString();
      for (const line of text.slice(0, end >= 0 ? end : consumed).split('\n')) {
        if (line.trim() === '') continue;
        this.#ctx.bus.publish('log.line', { service, instanceId, line: line.slice(0, 4_000), at });
      }
    } finally {
      await handle.close();
    }
  }
}

/** What a change of is worth announcing: states, health, pids, pauses (not timestamps). */
function summary(status: ApiClusterStatus | null): unknown {
  if (!status) return null;
  return [
    status.clusterId,
    status.services.map((s) => [
      s.name,
      s.instances.map((i) => [i.id, i.state, i.health, i.pid, i.pausedUntil, i.signal]),
    ]),
  ];
}
