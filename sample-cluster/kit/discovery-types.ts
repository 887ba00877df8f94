/** What a service instance looks like to everyone who wants to call it. */
export interface Instance {
  readonly id: string;
  readonly service: string;
  /** host:port reachable from the caller's network. */
  readonly address: string;
  readonly meta: Readonly<Record<string, string>>;
}

export interface SelfRegistration {
  readonly service: string;
  readonly instanceId: string;
  readonly address: string;
  readonly meta?: Record<string, string>;
}

export class NoInstanceError extends Error {
  override readonly name = 'NoInstanceError';
  readonly service: string;
  constructor(service: string) {
    super(`no healthy instance of "${service}" is known`);
    this.service = service;
  }
}

/**
 * Client-side discovery. Implementations keep a local cache so that traffic keeps flowing while
 * the registry itself is down (the "kill the registry" scenario).
 */
export interface Discovery {
  readonly mode: 'registry' | 'dns';
  /** Register this instance (if given), start heartbeats and the watch stream. */
  start(self?: SelfRegistration): Promise<void>;
  /** Deregister and stop every timer and stream. */
  stop(): Promise<void>;
  /** The next instance of a service, round-robin over healthy instances. Throws NoInstanceError. */
  pick(service: string): Promise<Instance>;
  /** Every healthy instance currently known for a service. */
  instances(service: string): Promise<readonly Instance[]>;
  /** Whether the registry (or DNS) answered recently; cached answers are used meanwhile. */
  connected(): boolean;
}
