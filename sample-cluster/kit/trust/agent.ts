/**
 * The trust agent of one service instance: its key and certificate (enrolled at start, renewed at
 * half-life, replaced at once when revoked), the mode the cluster runs in, the shared secrets, the
 * revoked certificates and the authorization server's keys, all learned from the auth service's
 * trust stream. It tells the service client how to call a peer (outgoing) and tells the guard who
 * is calling (authenticate).
 */
import type { IncomingMessage } from 'node:http';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { createLocalJWKSet, errors as joseErrors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import * as oauth from 'oauth4webapi';
import type { Logger } from 'pino';
import { Agent, fetch as undiciFetch, request, type Dispatcher } from 'undici';
import type { Discovery, Instance } from '../discovery-types.ts';
import { HttpProblem, unauthorized } from '../problem.ts';
import {
  normalizeSerial,
  serviceClientId,
  serviceOfAltNames,
  serviceOfClientId,
  type TrustMode,
} from './identity.ts';
import { EventStreamReader } from './event-stream.ts';
import { scopesFor } from './policy.ts';
import {
  enrollResponseSchema,
  revocationsSchema,
  SERVICE_AUTHORIZATION_HEADER,
  TLS_META_KEY,
  TRUST_ENROLL_PATH,
  TRUST_EVENTS_PATH,
  TRUST_PING_MS,
  TRUST_TOKEN_PATH,
  trustStateSchema,
  type EnrollRequest,
  type EnrollResponse,
  type RevokedCertificate,
  type Revocations,
  type TrustState,
} from './protocol.ts';
import { mintServiceJwt, signingSecret, verifyServiceJwt, ServiceJwtError } from './service-jwt.ts';
import { exportPublicJwk, generateKeyPair, privateKeyPem, type CryptoKey } from './x509.ts';

/** After a mode switch, the previous mode's proofs are still accepted this long (calls in flight). */
export const MODE_GRACE_MS = 3_000;
const START_TIMEOUT_MS = 25_000;

export interface TrustSettings {
  readonly service: string;
  readonly instanceId: string;
  readonly clusterId: string;
  readonly caCertPem: string;
  readonly enrollToken: string;
  readonly certTtlSeconds: number;
  /** The authorization server's issuer (the gateway's public URL). */
  readonly issuer: string;
  /** Port of this instance's mutual-TLS listener inside its network (also the DNS-mode fallback). */
  readonly tlsPort: number;
}

/** How an instance that is itself the trust authority (auth) reaches it: in-process. */
export interface LocalAuthority {
  enroll(request: EnrollRequest): Promise<EnrollResponse>;
  subscribe(listener: {
    state(state: TrustState): void;
    revoked(revocations: Revocations): void;
  }): () => void;
}

export interface CallerIdentity {
  readonly caller: string;
  /** Scopes of an OAuth access token; null when the proof carries none (certificate, secret JWT). */
  readonly scopes: ReadonlySet<string> | null;
  readonly via: TrustMode;
}

export interface OutgoingCall {
  /** scheme://host:port to send the request to. */
  readonly origin: string;
  readonly dispatcher: Dispatcher | undefined;
  readonly headers: Record<string, string>;
}

interface Certificate {
  readonly pem: string;
  readonly keyPem: string;
  readonly privateKey: CryptoKey;
  readonly serial: string;
  readonly notBefore: number;
  readonly notAfter: number;
}

export interface TrustStatus {
  readonly mode: TrustMode | null;
  readonly certificate: { serial: string; notBefore: string; notAfter: string } | null;
  readonly streamConnected: boolean;
  readonly secretKids: string[];
  readonly revokedCertificates: number;
  readonly refused: Record<string, number>;
  readonly rotations: number;
}

export class TrustAgent {
  readonly settings: TrustSettings;
  readonly #log: Logger;
  readonly #discovery: Discovery;
  #local: LocalAuthority | undefined;
  #localUnsubscribe: (() => void) | undefined;
  #reader: EventStreamReader | undefined;
  #ownTlsAddress: string | undefined;

  #cert: Certificate | undefined;
  #state: TrustState | undefined;
  #jwks: JWTVerifyGetKey | undefined;
  #revoked = new Map<string, RevokedCertificate>();
  #connected = false;
  #renewTimer: NodeJS.Timeout | undefined;
  #renewing: Promise<void> | undefined;
  #stopped = false;
  #rotations = 0;
  readonly #refused = new Map<string, number>();
  readonly #lastRefusalLog = new Map<string, number>();

  /** mTLS client agents, one per callee (each checks the callee's SPIFFE id). */
  #peerAgents = new Map<string, Agent>();
  /** Client-certificate agent for the trust plane (auth's stream and token endpoint). */
  #authorityAgent: Agent | undefined;
  /** Server-authenticated only: enrollment, when there is no certificate yet (or a revoked one). */
  readonly #enrollAgent: Agent;
  readonly #secretTokens = new Map<string, { token: string; expiresAt: number; kid: string }>();
  readonly #oauthTokens = new Map<string, Promise<{ token: string; expiresAt: number }>>();

  readonly #certificateListeners: Array<(cert: { keyPem: string; pem: string }) => void> = [];
  readonly #revokedListeners: Array<(serial: string) => void> = [];
  readonly #revocationListeners: Array<(revocations: Revocations) => void> = [];
  readonly #streamListeners: Array<(connected: boolean) => void> = [];
  readonly #firstState: Promise<void>;
  #resolveFirstState!: () => void;

  constructor(options: { settings: TrustSettings; discovery: Discovery; log: Logger }) {
    this.settings = options.settings;
    this.#log = options.log.child({ component: 'trust' });
    this.#discovery = options.discovery;
    this.#enrollAgent = new Agent({
      connect: { ca: [this.settings.caCertPem], checkServerIdentity: this.#expectPeer('auth') },
    });
    this.#firstState = new Promise((resolve) => (this.#resolveFirstState = resolve));
  }

  /** The auth service hands in its own authority before start (it cannot call itself to enroll). */
  useLocalAuthority(local: LocalAuthority): void {
    this.#local = local;
  }

  /** Where this instance's own TLS listener is (for the local authority's token endpoint). */
  setOwnTlsAddress(address: string): void {
    this.#ownTlsAddress = address;
  }

  /** This instance is the trust authority itself (auth): its TLS listener admits enrolling clients. */
  get isAuthority(): boolean {
    return this.#local !== undefined;
  }

  get mode(): TrustMode | undefined {
    return this.#state?.mode;
  }

  get streamConnected(): boolean {
    return this.#local ? true : this.#connected;
  }

  /** Enroll, subscribe, and wait for the first trust state; throws when the authority stays away. */
  async start(): Promise<void> {
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.#enroll();
        break;
      } catch (error) {
        if (Date.now() > deadline)
          throw new Error(`could not obtain a certificate from auth: ${describeError(error)}`);
        if (attempt === 0) this.#log.warn({ err: describeError(error) }, 'enrollment failed; retrying');
        await sleep(Math.min(1_000, 100 * 2 ** attempt));
      }
    }
    this.#subscribe();
    const timer = sleep(Math.max(1_000, deadline - Date.now())).then(() => 'timeout' as const);
    if ((await Promise.race([this.#firstState.then(() => 'ok' as const), timer])) === 'timeout')
      throw new Error('the trust stream of auth sent no state in time');
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#renewTimer);
    this.#localUnsubscribe?.();
    await this.#reader?.stop();
    const agents = [...this.#peerAgents.values(), this.#enrollAgent];
    if (this.#authorityAgent) agents.push(this.#authorityAgent);
    await Promise.all(agents.map((a) => a.destroy().catch(() => undefined)));
  }

  // --- certificates -------------------------------------------------------------------------

  tlsMaterial(): { key: string; cert: string; ca: string } {
    if (!this.#cert) throw new Error('no certificate yet');
    return { key: this.#cert.keyPem, cert: this.#cert.pem, ca: this.settings.caCertPem };
  }

  onCertificate(listener: (cert: { keyPem: string; pem: string }) => void): void {
    this.#certificateListeners.push(listener);
  }

  onCertificateRevoked(listener: (serial: string) => void): void {
    this.#revokedListeners.push(listener);
  }

  isRevoked(serial: string): RevokedCertificate | undefined {
    return this.#revoked.get(normalizeSerial(serial));
  }

  async #enroll(): Promise<void> {
    const keys = await generateKeyPair();
    const request: EnrollRequest = {
      service: this.settings.service,
      instanceId: this.settings.instanceId,
      publicKey: (await exportPublicJwk(keys.publicKey)) as EnrollRequest['publicKey'],
      token: this.settings.enrollToken,
      ttlSeconds: this.settings.certTtlSeconds,
    };
    const answer = this.#local ? await this.#local.enroll(request) : await this.#remoteEnroll(request);
    const cert: Certificate = {
      pem: answer.certificate,
      keyPem: await privateKeyPem(keys.privateKey),
      privateKey: keys.privateKey,
      serial: normalizeSerial(answer.serial),
      notBefore: Date.parse(answer.notBefore),
      notAfter: Date.parse(answer.notAfter),
    };
    const first = !this.#cert;
    this.#cert = cert;
    if (!first) this.#rotations += 1;
    this.#oauthTokens.clear();
    this.#rebuildAgents();
    for (const listener of this.#certificateListeners) listener({ keyPem: cert.keyPem, pem: cert.pem });
    this.#log.info(
      { serial: cert.serial, notAfter: new Date(cert.notAfter).toISOString() },
      first ? 'certificate obtained' : 'certificate rotated',
    );
    this.#scheduleRenewal();
  }

  async #remoteEnroll(body: EnrollRequest): Promise<EnrollResponse> {
    const origin = await this.#authOrigin();
    const response = await request(`${origin}${TRUST_ENROLL_PATH}`, {
      method: 'POST',
      dispatcher: this.#enrollAgent,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      headersTimeout: 5_000,
      bodyTimeout: 5_000,
    });
    const text = await response.body.text();
    if (response.statusCode !== 200)
      throw new Error(`auth refused enrollment (${response.statusCode}): ${text.slice(0, 200)}`);
    return enrollResponseSchema.parse(JSON.parse(text));
  }

  /** Half-life renewal; a failed renewal is retried soon, while the current certificate still lasts. */
  #scheduleRenewal(delayMs?: number): void {
    clearTimeout(this.#renewTimer);
    if (this.#stopped || !this.#cert) return;
    const { notBefore, notAfter } = this.#cert;
    const due = delayMs ?? Math.max(1_000, notBefore + (notAfter - notBefore) / 2 - Date.now());
    this.#renewTimer = setTimeout(() => void this.renew(), due);
    this.#renewTimer.unref();
  }

  /** Obtain a fresh key and certificate now (half-life, revocation, or an operator's request). */
  renew(): Promise<void> {
    this.#renewing ??= this.#enroll()
      .catch((error: unknown) => {
        this.#log.warn({ err: describeError(error) }, 'certificate renewal failed; retrying');
        this.#scheduleRenewal(2_000);
      })
      .finally(() => (this.#renewing = undefined));
    return this.#renewing;
  }

  #rebuildAgents(): void {
    const old = [...this.#peerAgents.values(), ...(this.#authorityAgent ? [this.#authorityAgent] : [])];
    this.#peerAgents = new Map();
    this.#authorityAgent = this.#cert ? this.#clientAgent('auth') : undefined;
    // In-flight calls finish on the old connections; new ones use the new certificate.
    for (const agent of old) void agent.close().catch(() => undefined);
  }

  #clientAgent(callee: string): Agent {
    const cert = this.#cert!;
    return new Agent({
      keepAliveTimeout: 10_000,
      keepAliveMaxTimeout: 30_000,
      connections: 128,
      connect: {
        timeout: 2_000,
        ca: [this.settings.caCertPem],
        cert: cert.pem,
        key: cert.keyPem,
        checkServerIdentity: this.#expectPeer(callee),
      },
    });
  }

  /** A server must present the callee's SPIFFE id and a certificate nobody revoked. */
  #expectPeer(callee: string) {
    return (_host: string, peer: PeerCertificate): Error | undefined => {
      const service = serviceOfAltNames(peer.subjectaltname);
      if (service !== callee)
        return new Error(`expected the certificate of ${callee}, got ${service ?? 'another identity'}`);
      const revoked = this.isRevoked(peer.serialNumber);
      if (revoked) return new Error(`the certificate of ${callee} is ${revoked.reason}`);
      return undefined;
    };
  }

  // --- the trust stream -----------------------------------------------------------------------

  onRevocations(listener: (revocations: Revocations) => void): void {
    this.#revocationListeners.push(listener);
  }

  onStreamChange(listener: (connected: boolean) => void): void {
    this.#streamListeners.push(listener);
  }

  #subscribe(): void {
    if (this.#local) {
      this.#localUnsubscribe = this.#local.subscribe({
        state: (state) => this.#applyState(state),
        revoked: (revocations) => this.#applyRevocations(revocations),
      });
      return;
    }
    this.#reader = new EventStreamReader({
      idleMs: TRUST_PING_MS * 3,
      target: async () => ({
        url: `${await this.#authOrigin()}${TRUST_EVENTS_PATH}`,
        dispatcher: this.#authorityAgent!,
      }),
      listener: {
        up: () => this.#setConnected(true),
        down: (reason) => {
          if (this.#connected) this.#log.warn({ reason }, 'trust stream lost; reconnecting');
          this.#setConnected(false);
          // Auth no longer accepts our certificate (withdrawn while we were away): enroll again.
          if (reason.includes('answered 401')) void this.renew();
        },
        event: (name, data) => {
          try {
            if (name === 'state') this.#applyState(trustStateSchema.parse(JSON.parse(data)));
            else if (name === 'revoked') this.#applyRevocations(revocationsSchema.parse(JSON.parse(data)));
          } catch (error) {
            this.#log.warn({ err: describeError(error), event: name }, 'unreadable trust event ignored');
          }
        },
      },
    });
    this.#reader.start();
  }

  /** Chaos: cut this instance off the trust stream for a while (auth's own agent has none). */
  suspendStream(ms: number): boolean {
    if (!this.#reader) return false;
    this.#reader.suspend(ms);
    return true;
  }

  #setConnected(connected: boolean): void {
    if (this.#connected === connected) return;
    this.#connected = connected;
    for (const listener of this.#streamListeners) listener(connected);
  }

  #applyState(state: TrustState): void {
    const before = this.#state;
    this.#state = state;
    this.#jwks = createLocalJWKSet(state.jwks);
    const revoked = new Map(state.revokedCertificates.map((r) => [normalizeSerial(r.serial), r]));
    const fresh = [...revoked.keys()].filter((serial) => !this.#revoked.has(serial));
    this.#revoked = revoked;
    if (before && before.mode !== state.mode) {
      this.#log.info({ from: before.mode, to: state.mode }, 'service-to-service auth mode changed');
    }
    if (fresh.length > 0) {
      // Connections to a peer whose certificate was just revoked must not stay open.
      this.#rebuildAgents();
      for (const serial of fresh) for (const listener of this.#revokedListeners) listener(serial);
      if (this.#cert && fresh.includes(this.#cert.serial)) {
        this.#log.warn(
          { serial: this.#cert.serial, reason: revoked.get(this.#cert.serial)?.reason },
          'our certificate was withdrawn; enrolling again',
        );
        void this.renew();
      }
    }
    this.#resolveFirstState();
  }

  #applyRevocations(revocations: Revocations): void {
    for (const listener of this.#revocationListeners) listener(revocations);
  }

  async #authOrigin(): Promise<string> {
    if (this.#local) {
      if (!this.#ownTlsAddress) throw new Error('the TLS listener is not up yet');
      return `https://${this.#ownTlsAddress}`;
    }
    const instance = await this.#discovery.pick('auth');
    return `https://${this.#tlsAddressOf(instance)}`;
  }

  #tlsAddressOf(instance: Instance): string {
    const meta = instance.meta[TLS_META_KEY];
    if (meta) return meta;
    // DNS discovery has no metadata: every container listens on the same TLS port.
    const host = instance.address.slice(0, instance.address.lastIndexOf(':'));
    return `${host}:${this.settings.tlsPort}`;
  }

  // --- calling a peer -------------------------------------------------------------------------

  /** How to call `callee` at `target` in the current mode. */
  async outgoing(callee: string, target: Instance): Promise<OutgoingCall> {
    const mode = this.#state?.mode ?? 'mtls';
    if (mode === 'mtls') {
      let agent = this.#peerAgents.get(callee);
      if (!agent) {
        agent = this.#clientAgent(callee);
        this.#peerAgents.set(callee, agent);
      }
      return { origin: `https://${this.#tlsAddressOf(target)}`, dispatcher: agent, headers: {} };
    }
    const token = mode === 'jwt-secret' ? await this.#secretToken(callee) : await this.#oauthToken(callee);
    return {
      origin: `http://${target.address}`,
      dispatcher: undefined,
      headers: { [SERVICE_AUTHORIZATION_HEADER]: `Bearer ${token}` },
    };
  }

  async #secretToken(callee: string): Promise<string> {
    const secret = signingSecret(this.#state?.secrets ?? []);
    if (!secret) throw new Error('no shared secret to sign with yet');
    const cached = this.#secretTokens.get(callee);
    if (cached && cached.kid === secret.kid && cached.expiresAt - Date.now() > 10_000) return cached.token;
    const minted = await mintServiceJwt(secret, this.settings.service, callee);
    this.#secretTokens.set(callee, { ...minted, kid: secret.kid });
    return minted.token;
  }

  /** Client credentials with private_key_jwt, audience = callee; cached and renewed before expiry. */
  async #oauthToken(callee: string): Promise<string> {
    const cached = this.#oauthTokens.get(callee);
    if (cached) {
      const token = await cached.catch(() => undefined);
      if (token && token.expiresAt - Date.now() > 15_000) return token.token;
      if (this.#oauthTokens.get(callee) === cached) this.#oauthTokens.delete(callee);
    }
    let pending = this.#oauthTokens.get(callee);
    if (!pending) {
      pending = this.#requestOauthToken(callee);
      this.#oauthTokens.set(callee, pending);
      pending.catch(() => {
        if (this.#oauthTokens.get(callee) === pending) this.#oauthTokens.delete(callee);
      });
    }
    return (await pending).token;
  }

  async #requestOauthToken(callee: string): Promise<{ token: string; expiresAt: number }> {
    const cert = this.#cert;
    if (!cert) throw new Error('no certificate to authenticate with');
    const origin = await this.#authOrigin();
    const as: oauth.AuthorizationServer = {
      issuer: this.settings.issuer,
      token_endpoint: `${origin}${TRUST_TOKEN_PATH}`,
    };
    const client: oauth.Client = { client_id: serviceClientId(this.settings.service) };
    const dispatcher = this.#authorityAgent!;
    const response = await oauth.clientCredentialsGrantRequest(
      as,
      client,
      oauth.PrivateKeyJwt({ key: cert.privateKey, kid: cert.serial }),
      { resource: serviceResource(callee), scope: scopesFor(this.settings.service, callee).join(' ') },
      {
        [oauth.customFetch]: (url, init) =>
          undiciFetch(url, {
            ...(init as Parameters<typeof undiciFetch>[1]),
            dispatcher,
          }) as unknown as Promise<Response>,
      },
    );
    const result = await oauth.processClientCredentialsResponse(as, client, response);
    return { token: result.access_token, expiresAt: Date.now() + (result.expires_in ?? 60) * 1000 };
  }

  // --- being called ---------------------------------------------------------------------------

  /** The service a certificate-authenticated TLS connection belongs to (trust-plane routes). */
  certificateIdentity(raw: IncomingMessage): string | undefined {
    const socket = raw.socket as TLSSocket;
    if (!socket.encrypted || !socket.authorized) return undefined;
    const peer = socket.getPeerCertificate();
    if (!peer || this.isRevoked(peer.serialNumber)) return undefined;
    return serviceOfAltNames(peer.subjectaltname);
  }

  /** Who is calling, proven the way the current mode (or, briefly, the previous one) demands. */
  async authenticate(raw: IncomingMessage): Promise<CallerIdentity> {
    const state = this.#state;
    if (!state)
      throw new HttpProblem(503, 'the trust state is not known yet', { headers: { 'retry-after': '1' } });
    const modes: TrustMode[] = [state.mode];
    if (
      state.previousMode &&
      state.previousMode !== state.mode &&
      Date.now() - state.modeChangedAt < MODE_GRACE_MS
    )
      modes.push(state.previousMode);
    let failure: string | undefined;
    for (const mode of modes) {
      const result = await this.#prove(mode, raw, state);
      if (typeof result !== 'string') return result;
      failure ??= result;
    }
    throw unauthorized(failure ?? 'no service credential', 'invalid_token', 'chaoscope-services');
  }

  async #prove(mode: TrustMode, raw: IncomingMessage, state: TrustState): Promise<CallerIdentity | string> {
    if (mode === 'mtls') {
      const socket = raw.socket as TLSSocket;
      if (!socket.encrypted) return 'this service accepts calls over mutual TLS only';
      if (!socket.authorized) return 'a cluster certificate is required';
      const peer = socket.getPeerCertificate();
      const revoked = this.isRevoked(peer.serialNumber);
      if (revoked) return `the caller's certificate is ${revoked.reason}`;
      const caller = serviceOfAltNames(peer.subjectaltname);
      if (!caller) return 'the certificate names no cluster service';
      return { caller, scopes: null, via: 'mtls' };
    }
    const header = raw.headers[SERVICE_AUTHORIZATION_HEADER];
    const token = typeof header === 'string' && /^Bearer \S+$/i.test(header) ? header.slice(7) : undefined;
    if (!token) return `a service token is required (${SERVICE_AUTHORIZATION_HEADER}: Bearer …)`;
    if (mode === 'jwt-secret') {
      try {
        const caller = await verifyServiceJwt(token, state.secrets, this.settings.service);
        return { caller, scopes: null, via: 'jwt-secret' };
      } catch (error) {
        return error instanceof ServiceJwtError ? error.message : 'the service token is not valid';
      }
    }
    try {
      const { payload } = await jwtVerify(token, this.#jwks!, {
        issuer: this.settings.issuer,
        audience: this.settings.service,
        algorithms: ['ES256'],
        typ: 'at+jwt',
        requiredClaims: ['exp', 'iat', 'client_id'],
      });
      const caller = typeof payload.client_id === 'string' ? serviceOfClientId(payload.client_id) : undefined;
      if (!caller) return 'the access token was not issued to a cluster service';
      const scope = typeof payload.scope === 'string' ? payload.scope : '';
      return { caller, scopes: new Set(scope.split(' ').filter(Boolean)), via: 'oauth' };
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) return 'the service access token has expired';
      if (error instanceof joseErrors.JWTClaimValidationFailed)
        return `the service access token's "${error.claim}" claim is not acceptable`;
      return 'the service access token is not valid';
    }
  }

  /** Count (and now and then log) a refused call: the app shows live 401/403 counts per service. */
  noteRefusal(status: number, reason: string, route: string | undefined): void {
    const key = `${status}`;
    this.#refused.set(key, (this.#refused.get(key) ?? 0) + 1);
    const now = Date.now();
    if (now - (this.#lastRefusalLog.get(reason) ?? 0) > 10_000) {
      this.#lastRefusalLog.set(reason, now);
      this.#log.warn({ status, reason, route }, 'service call refused');
    }
  }

  status(): TrustStatus {
    const cert = this.#cert;
    return {
      mode: this.#state?.mode ?? null,
      certificate: cert
        ? {
            serial: cert.serial,
            notBefore: new Date(cert.notBefore).toISOString(),
            notAfter: new Date(cert.notAfter).toISOString(),
          }
        : null,
      streamConnected: this.streamConnected,
      secretKids: (this.#state?.secrets ?? []).map((s) => s.kid),
      revokedCertificates: this.#revoked.size,
      refused: Object.fromEntries(this.#refused),
      rotations: this.#rotations,
    };
  }
}

/** The resource indicator (RFC 8707) of a service, as auth's resource servers know it. */
export function serviceResource(service: string): string {
  return `urn:chaoscope:service:${service}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
