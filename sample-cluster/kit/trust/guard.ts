/**
 * The one place where an internal request is authenticated and authorized: a fastify hook that
 * asks the trust agent who the caller is (by certificate, shared-secret JWT or OAuth token, as the
 * cluster's mode demands) and the policy whether that caller may call this route.
 */
import type { FastifyInstance } from 'fastify';
import { forbidden, HttpProblem, unauthorized } from '../problem.ts';
import type { TrustAgent } from './agent.ts';
import { decide, isExemptRoute, isGuarded, isTrustPlaneRoute } from './policy.ts';
import { TRUST_ENROLL_PATH } from './protocol.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated calling service (internal routes of guarded services). */
    serviceCaller?: string;
  }
}

export function installGuard(app: FastifyInstance, agent: TrustAgent, service: string): void {
  const guarded = isGuarded(service);
  app.addHook('onRequest', async (request) => {
    const route = request.routeOptions.url;
    if (isExemptRoute(route) || route === TRUST_ENROLL_PATH) return;
    try {
      if (isTrustPlaneRoute(route)) {
        const caller = agent.certificateIdentity(request.raw);
        if (!caller)
          throw unauthorized(
            'the trust plane needs a valid cluster certificate',
            'invalid_token',
            'chaoscope-services',
          );
        request.serviceCaller = caller;
        return;
      }
      if (!guarded) return;
      const identity = await agent.authenticate(request.raw);
      const decision = decide(service, request.method, route!, identity.caller, identity.scopes);
      if (!decision.allowed) throw forbidden(decision.reason);
      request.serviceCaller = identity.caller;
    } catch (error) {
      if (error instanceof HttpProblem && (error.status === 401 || error.status === 403))
        agent.noteRefusal(error.status, error.message, route);
      throw error;
    }
  });
}
