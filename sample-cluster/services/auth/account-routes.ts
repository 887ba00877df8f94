import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { notFound } from '../../kit/problem.ts';
import type { Outbox, OutboxRoute } from '../../kit/outbox.ts';
import { parse } from '../../kit/validate.ts';
import { handleSchema, signUpBody, type AccountStore } from './accounts.ts';

/** How long a sign-up waits for the users service to take the new profile before answering. */
const PROFILE_DELIVERY_WAIT_MS = 1_000;

/**
 * Internal routes (the gateway calls them for POST /api/accounts). The profile is delivered
 * through the outbox: the sign-up answers 201 once the account is committed, whether or not the
 * users service is up; the profile follows as soon as it is.
 */
export function registerAccountRoutes(app: FastifyInstance, accounts: AccountStore, outbox: Outbox): void {
  app.post('/accounts', async (request, reply) => {
    const input = parse(signUpBody, request.body);
    const account = await accounts.create(input);
    await outbox.flushWithin(PROFILE_DELIVERY_WAIT_MS);
    return reply.code(201).send(account);
  });

  app.get('/accounts/:handle', async (request) => {
    const { handle } = parse(z.object({ handle: handleSchema }), request.params, 'params');
    const account = accounts.find(handle);
    if (!account) throw notFound(`no account "${handle}"`);
    return account;
  });
}

const profilePayload = z.object({ handle: handleSchema, displayName: z.string(), createdAt: z.string() });

/** Sends a new account's profile to the users service; PUT is idempotent there, so resending is safe. */
export const PROFILE_ROUTE: OutboxRoute = {
  service: 'users',
  timeoutMs: 2_000,
  request: (payload) => {
    // A payload that does not fit throws, and the outbox parks it instead of resending it forever.
    const profile = profilePayload.parse(payload);
    return {
      method: 'PUT',
      path: `/v1/users/${encodeURIComponent(profile.handle)}`,
      body: { handle: profile.handle, displayName: profile.displayName, createdAt: profile.createdAt },
    };
  },
};
