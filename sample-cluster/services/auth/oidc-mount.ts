import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Provider } from 'oidc-provider';

const OPENID_CONFIGURATION = '/.well-known/openid-configuration';
const AUTHORIZATION_SERVER_METADATA = '/.well-known/oauth-authorization-server';

/**
 * Hands /oauth/* and /.well-known/* to oidc-provider (a koa app). Fastify must leave those
 * request bodies unread: oidc-provider parses its own forms and JSON. The interaction routes are
 * more specific fastify routes and win over the wildcard.
 */
export async function mountProvider(app: FastifyInstance, provider: Provider): Promise<void> {
  const handle = provider.callback();
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, _payload, done) => done(null));
    const forward = async (request: FastifyRequest, reply: FastifyReply) => {
      reply.hijack();
      reply.raw.setHeader('x-request-id', request.id);
      const url = request.raw.url ?? '/';
      // RFC 8414 metadata is the same document as OpenID discovery for an issuer without a path.
      if (url === AUTHORIZATION_SERVER_METADATA || url.startsWith(`${AUTHORIZATION_SERVER_METADATA}?`)) {
        request.raw.url = OPENID_CONFIGURATION + url.slice(AUTHORIZATION_SERVER_METADATA.length);
      }
      await handle(request.raw, reply.raw);
    };
    scope.all('/oauth/*', forward);
    scope.all('/.well-known/*', forward);
  });
}
