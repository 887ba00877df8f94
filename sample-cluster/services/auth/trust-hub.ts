/**
 * The trust stream (`GET /trust/events`, Server-Sent Events over mutual TLS): every instance gets
 * the cluster's trust state (mode, shared secrets, withdrawn certificates, the authorization
 * server's public keys) when it connects and whenever it changes, plus token revocations as they
 * happen. Auth's own agent listens in-process.
 */
import type { ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { JSONWebKeySet } from 'jose';
import type { Logger } from 'pino';
import type { TrustMode } from '../../kit/trust/identity.ts';
import { TRUST_PING_MS, type Revocations, type TrustState } from '../../kit/trust/protocol.ts';
import type { TokenRegistry } from './token-registry.ts';
import type { TrustStore } from './trust-store.ts';

interface LocalListener {
  state(state: TrustState): void;
  revoked(revocations: Revocations): void;
}

export class TrustHub {
  readonly #store: TrustStore;
  readonly #tokens: TokenRegistry;
  readonly #publicJwks: () => JSONWebKeySet;
  readonly #defaultMode: TrustMode;
  readonly #log: Logger;
  readonly #locals = new Set<LocalListener>();
  readonly #streams = new Map<ServerResponse, string>();
  readonly #ping: NodeJS.Timeout;

  constructor(options: {
    store: TrustStore;
    tokens: TokenRegistry;
    publicJwks: () => JSONWebKeySet;
    defaultMode: TrustMode;
    log: Logger;
  }) {
    this.#store = options.store;
    this.#tokens = options.tokens;
    this.#publicJwks = options.publicJwks;
    this.#defaultMode = options.defaultMode;
    this.#log = options.log.child({ component: 'trust-hub' });
    this.#tokens.onRevocations((r) => this.publishRevocations(r));
    this.#ping = setInterval(() => {
      for (const res of this.#streams.keys()) res.write(': ping\n\n');
    }, TRUST_PING_MS);
    this.#ping.unref();
  }

  get defaultMode(): TrustMode {
    return this.#defaultMode;
  }

  state(): TrustState {
    const mode = this.#store.mode(this.#defaultMode);
    return {
      mode: mode.mode,
      previousMode: mode.previousMode,
      modeChangedAt: mode.changedAt,
      secrets: this.#store.secrets(),
      revokedCertificates: this.#store.revokedCertificates(),
      jwks: this.#publicJwks(),
    };
  }

  subscribers(): { streams: Array<{ service: string }>; local: number } {
    return { streams: [...this.#streams.values()].map((service) => ({ service })), local: this.#locals.size };
  }

  publishState(): void {
    const state = this.state();
    // Remote instances first: auth's own agent acts on the state (cutting connections) at once.
    this.#broadcast('state', state);
    for (const listener of this.#locals) listener.state(state);
  }

  publishRevocations(revocations: Revocations): void {
    for (const listener of this.#locals) listener.revoked(revocations);
    this.#broadcast('revoked', revocations);
  }

  subscribeLocal(listener: LocalListener): () => void {
    this.#locals.add(listener);
    listener.state(this.state());
    listener.revoked(this.#tokens.full());
    return () => this.#locals.delete(listener);
  }

  /** An instance (already authenticated by its certificate) opens the stream. */
  open(request: FastifyRequest, reply: FastifyReply, service: string): void {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
    });
    res.write(frame('state', this.state()));
    res.write(frame('revoked', this.#tokens.full()));
    this.#streams.set(res, service);
    this.#log.debug({ service, subscribers: this.#streams.size }, 'trust stream opened');
    request.raw.once('close', () => this.#streams.delete(res));
  }

  close(): void {
    clearInterval(this.#ping);
    for (const res of this.#streams.keys()) res.end();
    this.#streams.clear();
    this.#locals.clear();
  }

  #broadcast(event: string, data: unknown): void {
    const text = frame(event, data);
    for (const res of this.#streams.keys()) res.write(text);
  }
}

function frame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}
