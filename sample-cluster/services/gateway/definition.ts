import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { handleSchema } from '../../kit/identifiers.ts';
import { parse } from '../../kit/validate.ts';
import type { ServiceDefinition } from '../../kit/server.ts';
import { registerAuthProxy } from './auth-proxy.ts';
import { markDegraded, TimelineAggregator } from './aggregation.ts';
import { gatewayConfigSchema } from './config.ts';
import { TokenBuckets, tooManyRequests } from './rate-limit.ts';
import { openEventStream } from './stream.ts';
import { RefusalCounter } from './refusals.ts';
import { REVOCATION_MODES, RevocationCheck } from './revocation.ts';
import { TokenVerifier, type Principal } from './token-verifier.ts';

const handle = handleSchema;
const handleParams = z.object({ handle });
const limitQuery = z.object({ limit: z.coerce.number().int().min(1).max(200).default(50) });
const signUpBody = z
  .object({ handle, password: z.string().min(8).max(200), displayName: z.string().trim().min(1).max(50) })
  .strict();
// Counted in code points, as the tweets service counts them: an emoji is one character.
const postTweetBody = z
  .object({
    text: z
      .string()
      .trim()
      .min(1, 'a tweet needs text')
      .refine((t) => [...t].length <= 280, 'a tweet is at most 280 characters'),
  })
  .strict();
const idempotencyKey = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[\x21-\x7e]+$/, 'printable ASCII only');

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

/**
 * The only public entry of the tweet cluster: routing, aggregation, access-token checks, scopes,
 * rate limits, and a breaker with a fallback for every downstream (the breakers live in the kit's
 * service client, one per gateway→service edge).
 */
export const gatewayDefinition: ServiceDefinition<typeof gatewayConfigSchema> = {
  configSchema: gatewayConfigSchema,
  bodyLimit: 16 * 1024,
  async setup(app, ctx) {
    const { config, client } = ctx;
    const verifier = new TokenVerifier({
      client,
      issuer: config.PUBLIC_URL.replace(/\/$/, ''),
      audience: config.API_AUDIENCE,
      clockToleranceSeconds: config.JWT_CLOCK_TOLERANCE_SECONDS,
      log: ctx.log,
    });
    const perUser = new TokenBuckets({
      ratePerSecond: config.RATE_LIMIT_USER_RPS,
      burst: config.RATE_LIMIT_USER_BURST,
    });
    const perClient = new TokenBuckets({
      ratePerSecond: config.RATE_LIMIT_CLIENT_RPS,
      burst: config.RATE_LIMIT_CLIENT_BURST,
    });
    const timelines = new TimelineAggregator(client);
    const revocation = new RevocationCheck({
      mode: config.REVOCATION_MODE,
      cacheMs: config.INTROSPECTION_CACHE_MS,
      client,
      trust: ctx.trust,
      log: ctx.log,
    });
    const refusals = new RefusalCounter();
    refusals.attach(app);
    ctx.admin.add((admin) => {
      admin.get('/refusals', async () => refusals.snapshot());
      admin.get('/revocation', async () => revocation.stats());
      admin.put('/revocation', async (request) => {
        revocation.configure(
          parse(
            z.strictObject({
              mode: z.enum(REVOCATION_MODES).optional(),
              cacheMs: z.number().int().min(0).max(300_000).optional(),
            }),
            request.body,
          ),
        );
        return revocation.stats();
      });
    });

    const limitAnonymous = (request: FastifyRequest) => {
      const wait = perClient.take(`ip:${request.ip}`);
      if (wait) throw tooManyRequests(wait, 'client');
    };

    /** Authenticate, check the scope, then charge both buckets. */
    const authorize = (scope: string) => async (request: FastifyRequest) => {
      const principal = await verifier.verify(request.headers.authorization);
      // Signature and claims can be cached; whether the token was revoked since cannot.
      await revocation.check(request.headers.authorization!.slice(7), principal);
      verifier.requireScope(principal, scope);
      const clientWait = perClient.take(`client:${principal.clientId}`);
      if (clientWait) throw tooManyRequests(clientWait, 'client');
      const userWait = perUser.take(`user:${principal.handle}`);
      if (userWait) throw tooManyRequests(userWait, 'user');
      request.principal = principal;
    };
    const principalOf = (request: FastifyRequest): Principal => request.principal!;

    await registerAuthProxy(app, client, limitAnonymous);

    app.post('/api/accounts', async (request, reply) => {
      limitAnonymous(request);
      const body = parse(signUpBody, request.body);
      const result = await client.request('auth', {
        method: 'POST',
        path: '/accounts',
        body,
        requestId: request.id,
      });
      return relay(reply, result.status, result.body);
    });

    app.post('/api/tweets', { preHandler: authorize('tweets:write') }, async (request, reply) => {
      const { text } = parse(postTweetBody, request.body);
      const key = request.headers['idempotency-key'];
      const headers: Record<string, string> = {};
      if (key !== undefined)
        headers['idempotency-key'] = parse(idempotencyKey, key, 'headers/idempotency-key');
      const result = await client.request('tweets', {
        method: 'POST',
        path: '/v1/tweets',
        body: { author: principalOf(request).handle, text },
        headers,
        requestId: request.id,
      });
      return relay(reply, result.status, result.body);
    });

    app.get('/api/timeline', { preHandler: authorize('tweets:read') }, async (request, reply) => {
      const { limit } = parse(limitQuery, request.query, 'query');
      const page = await timelines.home(principalOf(request).handle, limit, request.id);
      markDegraded(reply, page.degradedReasons);
      return page;
    });

    app.get('/api/users/:handle', { preHandler: authorize('tweets:read') }, async (request, reply) => {
      const params = parse(handleParams, request.params, 'params');
      const result = await client.request('users', {
        path: `/v1/users/${params.handle}`,
        requestId: request.id,
      });
      return relay(reply, result.status, result.body);
    });

    app.get('/api/users/:handle/tweets', { preHandler: authorize('tweets:read') }, async (request, reply) => {
      const params = parse(handleParams, request.params, 'params');
      const { limit } = parse(limitQuery, request.query, 'query');
      const profile = await client.request('users', {
        path: `/v1/users/${params.handle}`,
        requestId: request.id,
        fallback: () => null,
      });
      if (!profile.degraded && profile.status === 404) return relay(reply, 404, profile.body);
      const page = await timelines.userTweets(params.handle, limit, request.id);
      const reasons = profile.degraded
        ? [...page.degradedReasons, { service: 'users', reason: profile.cause ?? 'users unavailable' }]
        : page.degradedReasons;
      markDegraded(reply, reasons);
      return { ...page, degraded: reasons.length > 0, degradedReasons: reasons };
    });

    const follow = (method: 'PUT' | 'DELETE') => async (request: FastifyRequest, reply: FastifyReply) => {
      const params = parse(handleParams, request.params, 'params');
      const me = principalOf(request).handle;
      const result = await client.request('users', {
        method,
        path: `/v1/users/${me}/following/${params.handle}`,
        requestId: request.id,
      });
      return relay(reply, result.status, result.body);
    };
    app.put('/api/users/:handle/follow', { preHandler: authorize('follows:write') }, follow('PUT'));
    app.delete('/api/users/:handle/follow', { preHandler: authorize('follows:write') }, follow('DELETE'));

    app.get('/api/stream', { preHandler: authorize('tweets:read') }, async (request, reply) => {
      await openEventStream(client, principalOf(request).handle, request, reply);
    });
  },
};

/** Pass a downstream answer on: success bodies as JSON, 4xx problems as problem+json. */
function relay(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  reply.code(status);
  if (status === 204) return reply.send();
  if (status >= 400) reply.type('application/problem+json');
  return reply.send(body);
}
