import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { notFound } from '../../kit/problem.ts';
import type { ServiceClient } from '../../kit/service-client.ts';
import { parse } from '../../kit/validate.ts';
import { handleSchema, signUpBody, type AccountStore, type AccountView } from './accounts.ts';
import type { Deliver, Outbox } from './outbox.ts';

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

/** Sends a new account's profile to the users service; PUT is idempotent there, so resending is safe. */
export function profileDeliverer(client: ServiceClient): Deliver {
  return async (message) => {
    const profile = message.payload as AccountView;
    const result = await client.request('users', {
      method: 'PUT',
      path: `/v1/users/${encodeURIComponent(profile.handle)}`,
      body: { handle: profile.handle, displayName: profile.displayName, createdAt: profile.createdAt },
      timeoutMs: 2_000,
    });
    return { status: result.status };
  };
}
