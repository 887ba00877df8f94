/**
 * The control plane's event bus: parts publish events as they happen; subscribers get them in
 * batches every `intervalMs` (250 ms by default), so a busy cluster costs a client a few messages
 * a second. State topics (STATE_TOPICS) are coalesced to their latest value and replayed to a new
 * subscriber in its first batch; other topics are delivered in order, up to MAX_EVENTS_PER_BATCH
 * per batch, the rest counted as dropped. Payloads are checked against the contract on publish,
 * so a malformed event is caught where it is made, not in a client.
 */
import {
  EVENTS,
  MAX_EVENTS_PER_BATCH,
  isStateTopic,
  type ApiEvent,
  type EventBatch,
  type EventPayload,
  type EventTopic,
} from '../api/events.ts';

interface Subscriber {
  readonly deliver: (batch: EventBatch) => void;
  seq: number;
}

export interface EventBusOptions {
  readonly intervalMs?: number;
  /** Told when the first subscriber arrives and the last one leaves (watchers start and stop). */
  readonly onActive?: (active: boolean) => void;
  readonly onInvalid?: (topic: EventTopic, reason: string) => void;
}

export class EventBus {
  readonly #intervalMs: number;
  readonly #options: EventBusOptions;
  readonly #subscribers = new Set<Subscriber>();
  /** Latest value per state topic: coalesced into the next batch, replayed to newcomers. */
  readonly #latest = new Map<EventTopic, ApiEvent>();
  readonly #pendingState = new Set<EventTopic>();
  #pending: ApiEvent[] = [];
  #dropped = 0;
  #timer: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(options: EventBusOptions = {}) {
    this.#intervalMs = options.intervalMs ?? 250;
    this.#options = options;
  }

  get subscriberCount(): number {
    return this.#subscribers.size;
  }

  publish<T extends EventTopic>(topic: T, data: EventPayload<T>): void {
    if (this.#closed) return;
    const checked = EVENTS[topic].safeParse(data);
    if (!checked.success) {
      this.#options.onInvalid?.(topic, checked.error.issues[0]?.message ?? 'invalid');
      return;
    }
    const event = { topic, data: checked.data } as ApiEvent;
    if (isStateTopic(topic)) {
      this.#latest.set(topic, event);
      this.#pendingState.add(topic);
    } else if (this.#subscribers.size > 0) {
      if (this.#pending.length < MAX_EVENTS_PER_BATCH) this.#pending.push(event);
      else this.#dropped += 1;
    }
    this.#schedule();
  }

  /** The latest value of a state topic, if one was published. */
  latest<T extends EventTopic>(topic: T): EventPayload<T> | undefined {
    return this.#latest.get(topic)?.data as EventPayload<T> | undefined;
  }

  subscribe(deliver: (batch: EventBatch) => void): () => void {
    const subscriber: Subscriber = { deliver, seq: 0 };
    this.#subscribers.add(subscriber);
    if (this.#subscribers.size === 1) this.#options.onActive?.(true);
    const initial = [...this.#latest.values()];
    if (initial.length > 0) {
      // Asynchronously, so the caller has its unsubscribe function before the first call.
      queueMicrotask(() => {
        if (this.#subscribers.has(subscriber)) this.#send(subscriber, initial, 0);
      });
    }
    return () => {
      if (!this.#subscribers.delete(subscriber)) return;
      if (this.#subscribers.size === 0) {
        this.#pending = [];
        this.#dropped = 0;
        this.#options.onActive?.(false);
      }
    };
  }

  /** Send what is pending now (tests, and before a clean exit). */
  flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const events = [...[...this.#pendingState].flatMap((t) => this.#latest.get(t) ?? []), ...this.#pending];
    const dropped = this.#dropped;
    this.#pendingState.clear();
    this.#pending = [];
    this.#dropped = 0;
    if (events.length === 0 && dropped === 0) return;
    for (const subscriber of this.#subscribers) this.#send(subscriber, events, dropped);
  }

  close(): void {
    this.flush();
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#subscribers.clear();
  }

  #schedule(): void {
    if (this.#timer || this.#subscribers.size === 0) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.flush();
    }, this.#intervalMs);
    this.#timer.unref();
  }

  #send(subscriber: Subscriber, events: ApiEvent[], dropped: number): void {
    subscriber.seq += 1;
    try {
      subscriber.deliver({ seq: subscriber.seq, at: new Date().toISOString(), events, dropped });
    } catch {
      // One broken subscriber must not starve the others.
    }
  }
}
