import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ServiceClient } from '../../kit/service-client.ts';

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
]);

/** Paths of the OAuth 2.0 / OIDC server that the gateway publishes as its own (the issuer). */
export const AUTH_PATH_PREFIXES = ['/.well-known/', '/oauth/'] as const;

/**
 * Reverse proxy to the auth service. Bodies and redirects pass through untouched: the OAuth
 * server parses its own forms, and clients must see its redirects and cookies as they are.
 */
export async function registerAuthProxy(
  app: FastifyInstance,
  client: ServiceClient,
  beforeProxy: (request: FastifyRequest) => void,
): Promise<void> {
  await app.register(async (proxy) => {
    proxy.removeAllContentTypeParsers();
    // Leave the request stream unread so it can be forwarded as it is.
    proxy.addContentTypeParser('*', (_request, _payload, done) => done(null));
    const handler = async (request: FastifyRequest, reply: FastifyReply) => {
      beforeProxy(request);
      const headers: Record<string, string | string[] | undefined> = {};
      for (const [name, value] of Object.entries(request.headers))
        if (!HOP_BY_HOP.has(name)) headers[name] = value;
      headers['x-forwarded-host'] = request.headers.host;
      headers['x-forwarded-proto'] = request.protocol;
      headers['x-forwarded-for'] = request.ip;
      const hasBody = request.method !== 'GET' && request.method !== 'HEAD';
      const upstream = await client.stream('auth', {
        method: request.method,
        path: request.url,
        headers,
        ...(hasBody ? { body: request.raw } : {}),
        requestId: request.id,
      });
      reply.code(upstream.statusCode);
      for (const [name, value] of Object.entries(upstream.headers)) {
        if (!HOP_BY_HOP.has(name) && value !== undefined && name !== 'x-request-id')
          reply.header(name, value);
      }
      return reply.send(upstream.body);
    };
    for (const prefix of AUTH_PATH_PREFIXES) proxy.all(`${prefix}*`, handler);
  });
}
