import type { Logger } from 'pino';
import { HttpClient } from './http.ts';
import { pickAction } from './mix.ts';
import { PkceClient, type LoginError } from './oauth.ts';
import { parse } from '../../kit/validate.ts';
import { applySettingsPatch, DEFAULT_SETTINGS, settingsSchema, type LoadSettings } from './settings.ts';
import { TickScheduler } from './scheduler.ts';
import { LoadStats } from './stats.ts';
import { StreamConnection } from './streamer.ts';
import { SimulatedUser, type UserContext } from './user.ts';

/** Follows each user makes at start, so timelines and streams have something to show. */
const SEED_FOLLOWS = 3;
const SESSION_ERROR_LOG_INTERVAL_MS = 10_000;

const PHRASES = [
  'Shipping a tiny fix before lunch',
  'Is it the network or is it DNS? It is always DNS',
  'Coffee number three, latency number one',
  'Circuit breakers are just polite timeouts',
  'Reading about fan-out on write vs fan-out on read',
  'My p99 has opinions today',
  'Retries with idempotency keys: sleep well',
  'Hello from a simulated user',
];

export interface LoadGeneratorOptions {
  /** The gateway's public URL (also the OAuth issuer), e.g. http://127.0.0.1:8080. */
  readonly baseUrl: string;
  /** Everything but `running`: a new generator is idle until start(). */
  readonly settings?: Partial<Omit<LoadSettings, 'running'>>;
  /** Simulated users are `<handlePrefix><n>`; default "lg_". */
  readonly handlePrefix?: string;
  readonly password?: string;
  readonly clientId?: string;
  readonly resource?: string;
  /** Deadline of every HTTP call. */
  readonly timeoutMs?: number;
  /** Silence after which a stream is considered dead and reopened. */
  readonly streamIdleTimeoutMs?: number;
  readonly log?: Logger;
  /** Source of randomness in [0, 1), for reproducible runs. */
  readonly random?: () => number;
}

/**
 * Simulated users driving the public API at a configurable rate and mix. Users are created on first
 * use (sign-up, login, a few follows), a scheduler starts ticks without ever queueing behind a slow
 * cluster, and a few users stay on the live stream. Settings change while it runs.
 */
export class LoadGenerator {
  readonly baseUrl: URL;
  readonly #options: LoadGeneratorOptions;
  readonly #lifecycle = new AbortController();
  readonly #http: HttpClient;
  readonly #oauth: PkceClient;
  readonly #stats = new LoadStats();
  readonly #scheduler: TickScheduler;
  readonly #users: SimulatedUser[] = [];
  readonly #streams = new Map<number, StreamConnection>();
  readonly #stopping = new Set<Promise<void>>();
  readonly #random: () => number;
  readonly #log: Logger | undefined;
  #settings: LoadSettings;
  #skippedNoSession = 0;
  #postCounter = 0;
  #lastSessionErrorLog = 0;
  #closed = false;

  constructor(options: LoadGeneratorOptions) {
    this.#options = options;
    this.baseUrl = new URL(options.baseUrl);
    this.#settings = parse(
      settingsSchema,
      { ...DEFAULT_SETTINGS, ...options.settings, running: false },
      'settings',
    );
    this.#random = options.random ?? Math.random;
    this.#log = options.log;
    this.#http = new HttpClient({ timeoutMs: options.timeoutMs ?? 5_000, signal: this.#lifecycle.signal });
    this.#oauth = new PkceClient({
      baseUrl: options.baseUrl,
      http: this.#http,
      ...(options.clientId ? { clientId: options.clientId } : {}),
      ...(options.resource ? { resource: options.resource } : {}),
    });
    this.#scheduler = new TickScheduler({
      ratePerSecond: this.#settings.ratePerSecond,
      maxInFlight: this.#settings.maxInFlight,
      task: () => this.#tick(),
      onError: (error) => this.#log?.error({ err: error }, 'a load tick failed unexpectedly'),
    });
  }

  settings(): LoadSettings {
    return structuredClone(this.#settings);
  }

  /** Change any subset of the settings; throws a 400 problem when the result is invalid. */
  update(patch: unknown): LoadSettings {
    if (this.#closed) throw new Error('the load generator is closed');
    this.#settings = applySettingsPatch(this.#settings, patch);
    this.#apply();
    return this.settings();
  }

  start(): LoadSettings {
    return this.update({ running: true });
  }

  /** Pause: no new ticks, streams closed; resolves once running requests have ended. */
  async stop(): Promise<void> {
    if (!this.#closed) this.update({ running: false });
    await Promise.all([this.#scheduler.drain(), ...this.#stopping]);
  }

  /** Stop for good: abort whatever is in flight and release every connection. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#settings = { ...this.#settings, running: false };
    this.#apply();
    this.#closed = true;
    this.#lifecycle.abort();
    await Promise.all([this.#scheduler.drain(), ...this.#stopping]);
    await this.#http.destroy();
  }

  /** The simulated user number `index` (created on first use). */
  user(index: number): SimulatedUser {
    let user = this.#users[index];
    if (!user) {
      const context: UserContext = {
        baseUrl: this.baseUrl,
        http: this.#http,
        oauth: this.#oauth,
        stats: this.#stats,
        onSessionError: (u, error) => this.#sessionError(u, error),
      };
      const handle = `${this.#options.handlePrefix ?? 'lg_'}${index}`;
      user = new SimulatedUser(
        { handle, password: this.#options.password ?? 'loadgen-password', displayName: `Load User ${index}` },
        context,
      );
      this.#users[index] = user;
    }
    return user;
  }

  stats() {
    const active = this.#users.slice(0, this.#settings.users).filter((u) => u !== undefined);
    const counts = this.#scheduler.counts();
    return {
      running: this.#settings.running,
      baseUrl: this.baseUrl.href,
      inFlight: counts.inFlight,
      ticks: {
        started: counts.started,
        skippedInFlightCap: counts.skipped,
        skippedNoSession: this.#skippedNoSession,
      },
      users: {
        configured: this.#settings.users,
        created: active.length,
        signedUp: active.filter((u) => u.signedUp).length,
        withSession: active.filter((u) => u.hasSession).length,
      },
      streams: {
        configured: this.#settings.running ? this.#settings.streamers : 0,
        connected: [...this.#streams.values()].filter((s) => s.connected).length,
      },
      ...this.#stats.snapshot(),
    };
  }

  resetStats(): void {
    this.#stats.reset();
    this.#scheduler.resetCounts();
    this.#skippedNoSession = 0;
  }

  /** Bring the scheduler and the streams in line with the settings. */
  #apply(): void {
    const s = this.#settings;
    this.#scheduler.configure({ ratePerSecond: s.ratePerSecond, maxInFlight: s.maxInFlight });
    if (s.running) this.#scheduler.start();
    else this.#scheduler.stop();
    const wanted = s.running ? s.streamers : 0;
    for (let i = 0; i < wanted; i++) {
      if (this.#streams.has(i)) continue;
      const stream = new StreamConnection(this.user(i), {
        http: this.#http,
        baseUrl: this.baseUrl,
        stats: this.#stats,
        ...(this.#options.streamIdleTimeoutMs ? { idleTimeoutMs: this.#options.streamIdleTimeoutMs } : {}),
      });
      this.#streams.set(i, stream);
      stream.start();
    }
    for (const [i, stream] of this.#streams) {
      if (i < wanted) continue;
      this.#streams.delete(i);
      const stopped = stream.stop().finally(() => this.#stopping.delete(stopped));
      this.#stopping.add(stopped);
    }
  }

  async #tick(): Promise<void> {
    const { users, mix } = this.#settings;
    const index = Math.min(users - 1, Math.floor(this.#random() * users));
    const user = this.user(index);
    if (!user.canTry()) {
      this.#skippedNoSession += 1;
      return;
    }
    if (!(await user.accessToken())) return;
    if (!user.seeded) await this.#seedFollows(index, user);

    switch (pickAction(mix, this.#random())) {
      case 'post':
        await user.postTweet(
          `${PHRASES[Math.floor(this.#random() * PHRASES.length)]} #${++this.#postCounter}`,
        );
        return;
      case 'timeline':
        await user.readTimeline(20);
        return;
      case 'profile': {
        const target = this.#someoneElse(index) ?? user;
        if (this.#random() < 0.5) await user.readProfile(target.handle);
        else await user.readTweetsOf(target.handle, 20);
        return;
      }
      case 'follow': {
        const target = this.#someoneElse(index, (u) => !user.changingFollow(u.handle));
        if (!target) {
          await user.readTimeline(20);
          return;
        }
        // Unfollow only while the user keeps a few follows, so timelines never run dry.
        if (user.following.has(target.handle) && user.following.size > SEED_FOLLOWS - 1)
          await user.unfollow(target.handle);
        else await user.follow(target.handle);
        return;
      }
    }
  }

  /** The next few users after this one; a follow waits until its target has signed up. */
  async #seedFollows(index: number, user: SimulatedUser): Promise<void> {
    const { users } = this.#settings;
    const wanted = Math.min(SEED_FOLLOWS, users - 1);
    let done = 0;
    for (let k = 1; k <= wanted; k++) {
      const target = this.user((index + k) % users);
      if (user.following.has(target.handle)) {
        done += 1;
        continue;
      }
      if (!target.signedUp || user.changingFollow(target.handle)) continue;
      const result = await user.follow(target.handle);
      if (result && result.status < 300) done += 1;
    }
    if (done >= wanted) user.seeded = true;
  }

  /** A random other user who has signed up (and passes `accept`). */
  #someoneElse(index: number, accept: (u: SimulatedUser) => boolean = () => true): SimulatedUser | undefined {
    const candidates = this.#users
      .slice(0, this.#settings.users)
      .filter((u, i) => u !== undefined && i !== index && u.signedUp && accept(u));
    return candidates[Math.floor(this.#random() * candidates.length)];
  }

  #sessionError(user: SimulatedUser, error: LoginError): void {
    const now = Date.now();
    if (now - this.#lastSessionErrorLog < SESSION_ERROR_LOG_INTERVAL_MS) return;
    this.#lastSessionErrorLog = now;
    this.#log?.warn(
      {
        handle: user.handle,
        kind: error.kind,
        status: error.status,
        step: error.step,
        reason: error.message,
      },
      'a simulated user could not log in; retrying with backoff (further failures in the next 10 s are not logged)',
    );
  }
}

export type LoadGeneratorStats = ReturnType<LoadGenerator['stats']>;
