import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Provider } from 'oidc-provider';
import { TRUST_TOKEN_PATH } from '../../kit/trust/protocol.ts';

const OPENID_CONFIGURATION = '/.well-known/openid-configuration';
const AUTHORIZATION_SERVER_METADATA = '/.well-known/oauth-authorization-server';

/**
 * The current oidc-provider instance. Signing keys are fixed when a provider is built, so a key
 * rotation builds a new one over the same storage and swaps it in; requests in flight finish on
 * the old one.
 */
export class ProviderHolder {
  #provider: Provider;
  #handle: ReturnType<Provider['callback']>;
  readonly #build: () => Promise<Provider>;

  private constructor(provider: Provider, build: () => Promise<Provider>) {
    this.#provider = provider;
    this.#handle = provider.callback();
    this.#build = build;
  }

  static async create(build: () => Promise<Provider>): Promise<ProviderHolder> {
    return new ProviderHolder(await build(), build);
  }

  get current(): Provider {
    return this.#provider;
  }

  handle(
    req: Parameters<ReturnType<Provider['callback']>>[0],
    res: Parameters<ReturnType<Provider['callback']>>[1],
  ) {
    return this.#handle(req, res);
  }

  async rebuild(): Promise<void> {
    const provider = await this.#build();
    this.#provider = provider;
    this.#handle = provider.callback();
  }
}

/**
 * Hands /oauth/* and /.well-known/* to oidc-provider (a koa app). Fastify must leave those
 * request bodies unread: oidc-provider parses its own forms and JSON. The interaction routes are
 * more specific fastify routes and win over the wildcard. /trust/token is the token endpoint as
 * services reach it over the trust plane (mutual TLS, then private_key_jwt).
 */
export async function mountProvider(app: FastifyInstance, holder: ProviderHolder): Promise<void> {
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
      if (url === TRUST_TOKEN_PATH) request.raw.url = '/oauth/token';
      await holder.handle(request.raw, reply.raw);
    };
    scope.all('/oauth/*', forward);
    scope.all('/.well-known/*', forward);
    scope.post(TRUST_TOKEN_PATH, forward);
  });
}
