/**
 * The trust plane of the auth service: enrollment (certificates for instances), the trust stream,
 * and introspection for the gateway. Enrollment is reached over TLS only (the instance checks it
 * talks to auth before it sends its credential); the stream needs a client certificate (the kit's
 * guard checks it); introspection is a guarded route of the policy (the gateway only).
 */
import type { FastifyInstance } from 'fastify';
import type { TLSSocket } from 'node:tls';
import { z } from 'zod';
import { HttpProblem } from '../../kit/problem.ts';
import {
  enrollRequestSchema,
  TRUST_ENROLL_PATH,
  TRUST_EVENTS_PATH,
  TRUST_INTROSPECT_PATH,
} from '../../kit/trust/protocol.ts';
import { parse } from '../../kit/validate.ts';
import type { AccessTokens } from './access-tokens.ts';
import type { CertificateAuthority } from './certificate-authority.ts';
import type { TrustHub } from './trust-hub.ts';

const introspectBody = z.strictObject({ token: z.string().min(1).max(8_192) });

export function registerTrustRoutes(
  app: FastifyInstance,
  options: {
    ca: CertificateAuthority | undefined;
    hub: TrustHub;
    accessTokens: AccessTokens;
    apiAudience: string;
  },
): void {
  const { ca, hub } = options;
  if (ca) {
    app.post(TRUST_ENROLL_PATH, async (request) => {
      if (!(request.raw.socket as TLSSocket).encrypted)
        throw new HttpProblem(421, 'enrollment is served over TLS only (the TLS address is in the registry)');
      return ca.enroll(parse(enrollRequestSchema, request.body));
    });
    app.get(TRUST_EVENTS_PATH, async (request, reply) => {
      // The guard let only a certificate-authenticated instance this far.
      hub.open(request, reply, request.serviceCaller ?? 'unknown');
    });
  }
  app.post(TRUST_INTROSPECT_PATH, async (request) => {
    const { token } = parse(introspectBody, request.body);
    return options.accessTokens.introspect(token, options.apiAudience);
  });
}
