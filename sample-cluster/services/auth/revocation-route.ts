/**
 * RFC 7009 token revocation. oidc-provider revokes refresh tokens (and with them their grant) but
 * refuses JWT access tokens, which it does not store; those are revoked here by their `jti`. A
 * revocation request for a token of another client, or for an invalid token, is answered 200 and
 * changes nothing (RFC 7009 §2.2).
 */
import formbody from '@fastify/formbody';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AccessTokens } from './access-tokens.ts';
import { looksLikeJwt } from './access-tokens.ts';
import type { AuthEvents } from './auth-events.ts';
import type { ProviderHolder } from './oidc-mount.ts';
import type { TokenRegistry } from './token-registry.ts';

const revocationForm = z.object({
  token: z.string().max(8_192).optional(),
  token_type_hint: z.string().max(64).optional(),
  client_id: z.string().max(200).optional(),
});

export async function registerRevocationRoute(
  app: FastifyInstance,
  options: {
    holder: ProviderHolder;
    accessTokens: AccessTokens;
    registry: TokenRegistry;
    events: AuthEvents;
  },
): Promise<void> {
  await app.register(async (scope) => {
    await scope.register(formbody, { bodyLimit: 16 * 1024 });
    scope.post('/oauth/revoke', async (request, reply) => {
      const form = revocationForm.safeParse(request.body ?? {});
      const token = form.success ? form.data.token : undefined;
      if (form.success && token && looksLikeJwt(token)) {
        const clientId = form.data.client_id;
        if (!clientId) {
          options.events.record('refused', { reason: 'revocation without client authentication' });
          return reply
            .code(401)
            .header('cache-control', 'no-store')
            .send({ error: 'invalid_client', error_description: 'client authentication failed' });
        }
        const claims = await options.accessTokens.claims(token);
        if (claims && claims.client_id === clientId)
          options.registry.revokeJti(
            claims.jti,
            claims.exp,
            claims.sub ?? null,
            'revoked by its client (RFC 7009)',
          );
        return reply.code(200).header('cache-control', 'no-store').send('');
      }
      // Everything else (refresh tokens) is oidc-provider's; it reads the parsed form from req.body.
      (request.raw as typeof request.raw & { body?: unknown }).body = request.body ?? {};
      reply.hijack();
      reply.raw.setHeader('x-request-id', request.id);
      await options.holder.handle(request.raw, reply.raw);
    });
  });
}
