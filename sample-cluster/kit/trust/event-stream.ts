/**
 * A reconnecting Server-Sent Events reader for the trust stream. It reports `up` once a stream is
 * open, every event, and `down` when it breaks or falls silent (the server pings every few
 * seconds), then reconnects with backoff until stopped.
 */
import { request, type Dispatcher } from 'undici';

export interface StreamTarget {
  readonly url: string;
  readonly dispatcher: Dispatcher;
}

export interface StreamListener {
  up(): void;
  event(name: string, data: string): void;
  down(reason: string): void;
}

export class EventStreamReader {
  readonly #target: () => Promise<StreamTarget>;
  readonly #listener: StreamListener;
  readonly #idleMs: number;
  #abort: AbortController | undefined;
  #stopped = false;
  #failures = 0;
  #running: Promise<void> | undefined;
  #open = false;

  constructor(options: { target: () => Promise<StreamTarget>; listener: StreamListener; idleMs: number }) {
    this.#target = options.target;
    this.#listener = options.listener;
    this.#idleMs = options.idleMs;
  }

  get open(): boolean {
    return this.#open;
  }

  start(): void {
    this.#running ??= this.#loop();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#abort?.abort();
    await this.#running;
  }

  /** Drop the current connection now and reconnect (e.g. after our certificate changed). */
  reconnect(): void {
    this.#abort?.abort();
  }

  /** Chaos: cut the stream and stay away for `ms` (what a network partition would do). */
  suspend(ms: number): void {
    this.#suspendedUntil = Date.now() + ms;
    this.#abort?.abort(new Error('trust stream suspended by an operator'));
  }

  #suspendedUntil = 0;

  async #loop(): Promise<void> {
    while (!this.#stopped) {
      let reason = 'closed';
      try {
        await this.#once();
      } catch (error) {
        reason = error instanceof Error ? error.message : String(error);
      }
      if (this.#open) {
        this.#open = false;
        this.#listener.down(reason);
      } else this.#listener.down(reason);
      if (this.#stopped) return;
      this.#failures += 1;
      const delay = Math.min(5_000, 100 * 2 ** Math.min(this.#failures, 6)) * (0.5 + Math.random() / 2);
      await new Promise((resolve) => setTimeout(resolve, Math.max(delay, this.#suspendedUntil - Date.now())));
    }
  }

  async #once(): Promise<void> {
    const target = await this.#target();
    const abort = new AbortController();
    this.#abort = abort;
    if (this.#stopped) return;
    const response = await request(target.url, {
      dispatcher: target.dispatcher,
      headers: { accept: 'text/event-stream' },
      signal: abort.signal,
      bodyTimeout: 0,
      headersTimeout: 5_000,
    });
    if (response.statusCode !== 200) {
      const text = await response.body.text().catch(() => '');
      throw new Error(`trust stream answered ${response.statusCode}: ${text.slice(0, 200)}`);
    }
    this.#open = true;
    this.#failures = 0;
    this.#listener.up();
    let idle: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(idle);
      idle = setTimeout(() => abort.abort(new Error('trust stream fell silent')), this.#idleMs);
    };
    arm();
    let buffer = '';
    try {
      for await (const chunk of response.body) {
        arm();
        buffer += (chunk as Buffer).toString('utf8');
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let name = 'message';
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith('event:')) name = line.slice(6).trim();
            else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
          }
          if (data.length > 0) this.#listener.event(name, data.join('\n'));
        }
      }
    } finally {
      clearTimeout(idle);
    }
    if (abort.signal.aborted && abort.signal.reason instanceof Error) throw abort.signal.reason;
  }
}
