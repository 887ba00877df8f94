/**
 * The cluster CA's signing service. The runtime makes the CA at `up` and hands its key to auth
 * alone; instances enroll here over server-authenticated TLS with the enrollment credential the
 * runtime gave them, which is good for their own service only. Every new certificate's public key
 * also becomes a key of the service's OAuth client (`private_key_jwt`), so the oauth mode uses the
 * same identity as the mtls mode.
 */
import { checkEnrollmentToken } from '../../kit/trust/enrollment.ts';
import { HttpProblem } from '../../kit/problem.ts';
import { serviceClientId } from '../../kit/trust/identity.ts';
import { CLUSTER_POLICY } from '../../kit/trust/policy.ts';
import type { EnrollRequest, EnrollResponse } from '../../kit/trust/protocol.ts';
import { importPublicJwk, issueServiceCertificate, type LoadedCa } from '../../kit/trust/x509.ts';
import type { Adapter } from 'oidc-provider';
import type { AuthEvents } from './auth-events.ts';
import type { TrustStore } from './trust-store.ts';

const MIN_TTL_SECONDS = 60;
const MAX_TTL_SECONDS = 24 * 3600;

export class CertificateAuthority {
  readonly #ca: LoadedCa;
  readonly #store: TrustStore;
  readonly #enrollSecret: string;
  readonly #clusterId: string;
  readonly #clients: Adapter;
  readonly #events: AuthEvents;

  constructor(options: {
    ca: LoadedCa;
    store: TrustStore;
    enrollSecret: string;
    clusterId: string;
    clients: Adapter;
    events: AuthEvents;
  }) {
    this.#ca = options.ca;
    this.#store = options.store;
    this.#enrollSecret = options.enrollSecret;
    this.#clusterId = options.clusterId;
    this.#clients = options.clients;
    this.#events = options.events;
  }

  async enroll(request: EnrollRequest): Promise<EnrollResponse> {
    if (!checkEnrollmentToken(this.#enrollSecret, this.#clusterId, request.service, request.token)) {
      this.#events.record('refused', {
        reason: 'enrollment credential does not match the service',
        service: request.service,
      });
      throw new HttpProblem(403, `the enrollment credential is not valid for ${request.service}`);
    }
    const held = this.#store.heldUntil(request.service);
    if (held) {
      this.#events.record('refused', { reason: 'service on certificate hold', service: request.service });
      throw new HttpProblem(
        403,
        `${request.service} may not get a certificate before ${new Date(held).toISOString()}`,
        {
          headers: { 'retry-after': String(Math.ceil((held - Date.now()) / 1000)) },
        },
      );
    }
    const ttl = Math.min(MAX_TTL_SECONDS, Math.max(MIN_TTL_SECONDS, request.ttlSeconds ?? 3600));
    const publicKey = await importPublicJwk(request.publicKey);
    const issued = await issueServiceCertificate(this.#ca, {
      service: request.service,
      instanceId: request.instanceId,
      publicKey,
      notAfter: new Date(Date.now() + ttl * 1000),
    });
    this.#store.recordCertificate({
      serial: issued.serial,
      service: request.service,
      instanceId: request.instanceId,
      publicJwk: request.publicKey,
      notBefore: issued.notBefore.getTime(),
      notAfter: issued.notAfter.getTime(),
    });
    await this.registerClient(request.service);
    this.#events.record('certificate-issued', {
      service: request.service,
      instance: request.instanceId,
      serial: issued.serial,
      notAfter: issued.notAfter.toISOString(),
    });
    return {
      certificate: issued.pem,
      serial: issued.serial,
      notBefore: issued.notBefore.toISOString(),
      notAfter: issued.notAfter.toISOString(),
    };
  }

  /**
   * The service's confidential OAuth client: client credentials only, authenticated with a JWT
   * signed by the key of one of its valid certificates (kid = serial).
   */
  async registerClient(service: string): Promise<void> {
    if (!Object.values(CLUSTER_POLICY).some((rules) => rules.some((r) => r.callers.includes(service))))
      return;
    const keys = this.#store
      .certificates({ service, valid: true })
      .map((c) => ({ ...c.publicJwk, kid: c.serial, alg: 'ES256', use: 'sig' }));
    const clientId = serviceClientId(service);
    if (keys.length === 0) {
      await this.#clients.destroy(clientId);
      return;
    }
    await this.#clients.upsert(
      clientId,
      {
        client_id: clientId,
        client_name: `${service} (service)`,
        token_endpoint_auth_method: 'private_key_jwt',
        token_endpoint_auth_signing_alg: 'ES256',
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        jwks: { keys },
      },
      undefined,
    );
  }
}
