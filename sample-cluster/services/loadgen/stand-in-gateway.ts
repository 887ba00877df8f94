/**
 * FOR TESTS ONLY. A stand-in for the gateway's public API, so the load generator's client side can
 * be tested without the whole cluster (the lead's integration tests run it against the real one).
 * The OAuth part is real: oidc-provider with authorization code + PKCE, a loopback-redirect native
 * client, refresh-token rotation and an HTML login form posting `login` and `password`, mounted as
 * the auth service is behind the gateway (/.well-known, /oauth). The /api routes keep just enough
 * state to check what the load generator sent, and can be told to fail in the ways a cluster does.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import formbody from '@fastify/formbody';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { exportJWK, generateKeyPair } from 'jose';

/** The few oidc-provider members used here (the package ships no type declarations). */
interface OidcProvider {
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
  interactionDetails(
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<{
    uid: string;
    prompt: { name: string; details: { missingOIDCScope?: string[]; missingOIDCClaims?: string[] } };
    params: Record<string, unknown>;
    session?: { accountId: string };
    grantId?: string;
  }>;
  interactionResult(
    req: IncomingMessage,
    res: ServerResponse,
    result: unknown,
    options?: { mergeWithLastSubmission?: boolean },
  ): Promise<string>;
  Grant: {
    new (init: { accountId: string; clientId: string }): OidcGrant;
    find(id: string): Promise<OidcGrant | undefined>;
  };
  AccessToken: {
    find(token: string): Promise<{ accountId: string; scopes: Set<string>; isExpired: boolean } | undefined>;
  };
}
interface OidcGrant {
  addOIDCScope(scope: string): void;
  addOIDCClaims(claims: string[]): void;
  save(): Promise<string>;
}

export interface StandInTweet {
  readonly id: string;
  readonly author: string;
  readonly text: string;
  readonly key: string | undefined;
}

export interface StandInGateway {
  readonly url: string;
  readonly accounts: Map<string, string>;
  readonly tweets: StandInTweet[];
  /** Idempotency keys of every POST /api/tweets attempt, in order. */
  readonly postAttempts: string[];
  readonly follows: Set<string>;
  /** Paths requested, for checking that only the public API is used. */
  readonly paths: string[];
  readonly behaviour: {
    /** Answer 503 to the first attempt of each new Idempotency-Key, after storing the tweet (the answer got lost). */
    failFirstPostAttempt: boolean;
    /** Mark timelines as served from a fallback. */
    degradedTimeline: boolean;
    /** Delay before every /api answer. */
    delayMs: number;
  };
  /** Refuse every access token issued so far (as after a key rotation), forcing new logins. */
  rejectCurrentTokens(): void;
  openStreams(): number;
  /** Stop listening and drop connections (a gateway crash); start() brings it back on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

export const STAND_IN_ACCESS_TOKEN_TTL = 4;

export async function startStandInGateway(options: { port?: number } = {}): Promise<StandInGateway> {
  // Listen first: the issuer must name the port.
  let server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;

  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), alg: 'RS256', use: 'sig', kid: 'test' };
  const { default: Provider } = (await import('oidc-provider')) as unknown as {
    default: new (issuer: string, config: unknown) => OidcProvider;
  };
  const scopes = ['openid', 'offline_access', 'tweets:read', 'tweets:write', 'follows:write'];
  const provider = new Provider(url, {
    clients: [
      {
        client_id: 'chaoscope-cli',
        application_type: 'native',
        token_endpoint_auth_method: 'none',
        redirect_uris: ['http://127.0.0.1/callback'],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
      },
    ],
    scopes,
    jwks: { keys: [jwk] },
    cookies: { keys: ['stand-in-cookie-key'] },
    features: { devInteractions: { enabled: false } },
    routes: {
      authorization: '/oauth/auth',
      token: '/oauth/token',
      jwks: '/oauth/jwks',
      userinfo: '/oauth/me',
      revocation: '/oauth/revoke',
      end_session: '/oauth/logout',
      pushed_authorization_request: '/oauth/par',
    },
    interactions: {
      url: (_ctx: unknown, interaction: { uid: string }) => `/oauth/interaction/${interaction.uid}`,
    },
    findAccount: (_ctx: unknown, sub: string) => ({ accountId: sub, claims: () => ({ sub }) }),
    ttl: {
      AccessToken: STAND_IN_ACCESS_TOKEN_TTL,
      IdToken: 60,
      RefreshToken: 3600,
      Grant: 3600,
      Interaction: 300,
      Session: 3600,
      AuthorizationCode: 60,
    },
    rotateRefreshToken: true,
    pkce: { required: () => true },
  });
  const oidc = provider.callback();

  const accounts = new Map<string, string>();
  const tweets: StandInTweet[] = [];
  const postAttempts: string[] = [];
  const follows = new Set<string>();
  const paths: string[] = [];
  const rejected = new Set<string>();
  const seenTokens = new Set<string>();
  const streams = new Set<ServerResponse>();
  const behaviour = { failFirstPostAttempt: false, degradedTimeline: false, delayMs: 0 };

  const app = Fastify({ logger: false });
  await app.register(formbody);

  const problem = (reply: FastifyReply, status: number, detail: string) =>
    reply
      .code(status)
      .type('application/problem+json')
      .send({ type: 'about:blank', title: 'error', status, detail });
  const authorize = async (request: FastifyRequest, reply: FastifyReply): Promise<string | undefined> => {
    if (behaviour.delayMs) await new Promise((r) => setTimeout(r, behaviour.delayMs));
    const header = request.headers.authorization;
    const token = header?.startsWith('Bearer ') ? header.slice(7) : '';
    const found = token ? await provider.AccessToken.find(token) : undefined;
    if (!found || found.isExpired || rejected.has(token)) {
      void problem(
        reply.header('www-authenticate', 'Bearer error="invalid_token"'),
        401,
        'the access token is not valid',
      );
      return undefined;
    }
    seenTokens.add(token);
    return found.accountId;
  };

  app.addHook('onRequest', async (request) => {
    paths.push(`${request.method} ${request.url.split('?')[0]}`);
  });

  app.post('/api/accounts', async (request, reply) => {
    const body = request.body as { handle: string; password: string; displayName: string };
    if (accounts.has(body.handle)) return problem(reply, 409, `the handle "${body.handle}" is taken`);
    accounts.set(body.handle, body.password);
    return reply.code(201).send({ handle: body.handle, displayName: body.displayName });
  });

  app.post('/api/tweets', async (request, reply) => {
    const me = await authorize(request, reply);
    if (!me) return reply;
    const key = request.headers['idempotency-key'] as string | undefined;
    if (key) postAttempts.push(key);
    const existing = key ? tweets.find((t) => t.key === key) : undefined;
    if (existing) return reply.code(201).send(existing);
    const tweet = { id: randomUUID(), author: me, text: (request.body as { text: string }).text, key };
    tweets.push(tweet);
    for (const stream of streams) stream.write(`event: tweet\ndata: ${JSON.stringify(tweet)}\n\n`);
    if (behaviour.failFirstPostAttempt)
      return reply
        .code(503)
        .header('retry-after', '0')
        .type('application/problem+json')
        .send({ status: 503, detail: 'tweets is unavailable' });
    return reply.code(201).send(tweet);
  });

  app.get('/api/timeline', async (request, reply) => {
    if (!(await authorize(request, reply))) return reply;
    if (behaviour.degradedTimeline) reply.header('x-chaoscope-degraded', 'timeline');
    return {
      items: tweets.slice(-20).reverse(),
      next: null,
      degraded: behaviour.degradedTimeline,
      degradedReasons: [],
    };
  });

  app.get('/api/users/:handle', async (request, reply) => {
    if (!(await authorize(request, reply))) return reply;
    const { handle } = request.params as { handle: string };
    return accounts.has(handle)
      ? { handle, displayName: handle }
      : problem(reply, 404, `no user "${handle}"`);
  });

  app.get('/api/users/:handle/tweets', async (request, reply) => {
    if (!(await authorize(request, reply))) return reply;
    const { handle } = request.params as { handle: string };
    return {
      items: tweets.filter((t) => t.author === handle).slice(-20),
      next: null,
      degraded: false,
      degradedReasons: [],
    };
  });

  const follow = (add: boolean) => async (request: FastifyRequest, reply: FastifyReply) => {
    const me = await authorize(request, reply);
    if (!me) return reply;
    const { handle } = request.params as { handle: string };
    if (!accounts.has(handle)) return problem(reply, 404, `no user "${handle}"`);
    if (add) follows.add(`${me}->${handle}`);
    else follows.delete(`${me}->${handle}`);
    return reply.code(204).send();
  };
  app.put('/api/users/:handle/follow', follow(true));
  app.delete('/api/users/:handle/follow', follow(false));

  app.get('/api/stream', async (request, reply) => {
    if (!(await authorize(request, reply))) return reply;
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.write(': connected\n\n');
    streams.add(res);
    request.raw.on('close', () => streams.delete(res));
  });

  // The login page, as the auth service serves it behind the gateway.
  const interactionPage = (uid: string, error?: string) =>
    `<!doctype html><title>Log in</title>${error ? `<p class="error">${error}</p>` : ''}<form method="post" action="/oauth/interaction/${uid}"><input name="login"><input name="password" type="password"><button>Log in</button></form>`;

  app.get('/oauth/interaction/:uid', async (request, reply) => {
    const details = await provider.interactionDetails(request.raw, reply.raw);
    if (details.prompt.name === 'login') return reply.type('text/html').send(interactionPage(details.uid));
    // First-party client: consent is granted without asking.
    const accountId = details.session!.accountId;
    const grant = details.grantId
      ? (await provider.Grant.find(details.grantId))!
      : new provider.Grant({ accountId, clientId: String(details.params.client_id) });
    if (details.prompt.details.missingOIDCScope)
      grant.addOIDCScope(details.prompt.details.missingOIDCScope.join(' '));
    if (details.prompt.details.missingOIDCClaims)
      grant.addOIDCClaims(details.prompt.details.missingOIDCClaims);
    const grantId = await grant.save();
    return reply.redirect(
      await provider.interactionResult(
        request.raw,
        reply.raw,
        { consent: { grantId } },
        { mergeWithLastSubmission: true },
      ),
      303,
    );
  });

  app.post('/oauth/interaction/:uid', async (request, reply) => {
    const details = await provider.interactionDetails(request.raw, reply.raw);
    const { login, password } = request.body as { login?: string; password?: string };
    if (!login || accounts.get(login) !== password)
      return reply.code(200).type('text/html').send(interactionPage(details.uid, 'Wrong handle or password'));
    return reply.redirect(
      await provider.interactionResult(
        request.raw,
        reply.raw,
        { login: { accountId: login } },
        { mergeWithLastSubmission: false },
      ),
      303,
    );
  });

  await app.ready();
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const path = req.url ?? '/';
    if (path.startsWith('/api/') || path.startsWith('/oauth/interaction/')) app.routing(req, res);
    else {
      paths.push(`${req.method} ${path.split('?')[0]}`);
      oidc(req, res);
    }
  };
  server.on('request', handler);

  const stop = async () => {
    for (const stream of streams) stream.destroy();
    streams.clear();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  };

  return {
    url,
    accounts,
    tweets,
    postAttempts,
    follows,
    paths,
    behaviour,
    rejectCurrentTokens: () => {
      for (const t of seenTokens) rejected.add(t);
    },
    openStreams: () => streams.size,
    stop,
    start: async () => {
      server = createServer(handler);
      await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    },
    close: async () => {
      if (server.listening) await stop();
      await app.close();
    },
  };
}
