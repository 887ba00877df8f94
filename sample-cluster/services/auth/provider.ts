import type { JWK } from 'jose';
import Provider, {
  errors,
  type ClientMetadata,
  type KoaContextWithOIDC,
  type ResourceServerInfo,
} from 'oidc-provider';
import type { Logger } from 'pino';
import type { Database } from '../../kit/storage.ts';
import type { AccountStore } from './accounts.ts';
import { serviceOfClientId } from '../../kit/trust/identity.ts';
import { scopesFor } from '../../kit/trust/policy.ts';
import { API_SCOPES, CLI_CLIENT_ID, OIDC_SCOPES, type AuthConfig } from './config.ts';
import { SIGNING_ALG } from './keys.ts';
import { sqliteAdapterFactory } from './oidc-adapter.ts';
import { logoutPage, messagePage, PAGE_HEADERS } from './pages.ts';

/** Every OAuth endpoint lives under /oauth, the prefix the gateway forwards to this service. */
export const OAUTH_ROUTES = {
  authorization: '/oauth/authorize',
  token: '/oauth/token',
  jwks: '/oauth/jwks',
  revocation: '/oauth/revoke',
  introspection: '/oauth/introspect',
  userinfo: '/oauth/userinfo',
  end_session: '/oauth/logout',
} as const;

export const INTERACTION_PATH = '/oauth/interaction';

const INTERACTION_TTL_SECONDS = 10 * 60;
const AUTHORIZATION_CODE_TTL_SECONDS = 60;
const ID_TOKEN_TTL_SECONDS = 60 * 60;
const SESSION_TTL_SECONDS = 24 * 60 * 60;

/**
 * The first-party public client of the CLI and the load generator: a native app (RFC 8252), so
 * the loopback redirect URIs below match on any port.
 */
export function cliClient(): ClientMetadata {
  return {
    client_id: CLI_CLIENT_ID,
    client_name: 'Chaoscope',
    application_type: 'native',
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: ['http://127.0.0.1/callback', 'http://[::1]/callback'],
    post_logout_redirect_uris: ['http://127.0.0.1/logged-out', 'http://[::1]/logged-out'],
    id_token_signed_response_alg: SIGNING_ALG,
    // Only the server's own scopes may be listed here; API scopes come from the resource server.
    scope: OIDC_SCOPES.join(' '),
  };
}

export interface ProviderOptions {
  readonly issuer: string;
  readonly config: AuthConfig;
  readonly db: Database;
  readonly accounts: AccountStore;
  readonly signingKeys: readonly JWK[];
  readonly cookieKeys: readonly string[];
  readonly log: Logger;
  /** Listeners for oidc-provider's events (token bookkeeping, auth events), attached to every build. */
  readonly listen?: (provider: Provider) => void;
}

/** Resource indicators of the services (RFC 8707), for their client-credentials tokens. */
const SERVICE_RESOURCE_PREFIX = 'urn:chaoscope:service:';

export function createProvider(options: ProviderOptions): Provider {
  const { config, accounts, log } = options;
  const apiResource = config.API_RESOURCE;
  const resourceServer: ResourceServerInfo = {
    scope: API_SCOPES.join(' '),
    audience: config.API_AUDIENCE,
    accessTokenTTL: config.ACCESS_TOKEN_TTL_SECONDS,
    // RFC 9068: the gateway verifies these itself, against the JWKS.
    accessTokenFormat: 'jwt',
    jwt: { sign: { alg: SIGNING_ALG } },
  };

  const provider = new Provider(options.issuer, {
    adapter: sqliteAdapterFactory(options.db),
    clients: [cliClient()],
    jwks: { keys: options.signingKeys },
    cookies: {
      keys: options.cookieKeys,
      long: { httpOnly: true, sameSite: 'lax' },
      short: { httpOnly: true, sameSite: 'lax' },
    },
    scopes: [...OIDC_SCOPES],
    // Authorization code only: no implicit or hybrid flows (RFC 9700).
    responseTypes: ['code'],
    clientDefaults: {
      grant_types: ['authorization_code'],
      id_token_signed_response_alg: SIGNING_ALG,
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    },
    pkce: { required: () => true },
    routes: OAUTH_ROUTES,
    interactions: {
      url: (_ctx: unknown, interaction: { uid: string }) => `${INTERACTION_PATH}/${interaction.uid}`,
    },
    findAccount: async (_ctx: unknown, sub: string) => {
      const account = accounts.find(sub);
      if (!account) return undefined;
      return {
        accountId: account.handle,
        claims: () => ({
          sub: account.handle,
          name: account.displayName,
          preferred_username: account.handle,
        }),
      };
    },
    features: {
      devInteractions: { enabled: false },
      introspection: {
        enabled: true,
        // RFC 7662 §4: protected. Only an authenticated (confidential) client, and only its own tokens.
        allowedPolicy: async (
          _ctx: unknown,
          client: { clientId: string; clientAuthMethod?: string },
          token: { clientId?: string },
        ) => client.clientAuthMethod !== 'none' && token.clientId === client.clientId,
      },
      // Services are confidential clients (private_key_jwt), registered when they enroll.
      clientCredentials: { enabled: true },
      revocation: {
        enabled: true,
        allowedPolicy: async (_ctx: unknown, client: { clientId: string }, token: { clientId?: string }) =>
          token.clientId === client.clientId,
      },
      userinfo: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx: KoaContextWithOIDC, form: string) =>
          sendPage(ctx, 200, logoutPage(form, ctx.host)),
        postLogoutSuccessSource: async (ctx: KoaContextWithOIDC) =>
          sendPage(ctx, 200, messagePage('Signed out', 'You are signed out. You can close this window.')),
      },
      resourceIndicators: {
        enabled: true,
        // oauth4webapi and most clients send no `resource`: the API is what every token is for.
        defaultResource: async (_ctx: unknown, _client: unknown, oneOf?: string[]) =>
          oneOf ? (oneOf.includes(apiResource) ? apiResource : oneOf[0]) : apiResource,
        // A refresh without `resource` gets a token for the resource the grant was for.
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx: unknown, resource: string, client?: { clientId: string }) => {
          if (resource === apiResource) return resourceServer;
          if (resource.startsWith(SERVICE_RESOURCE_PREFIX)) {
            const callee = resource.slice(SERVICE_RESOURCE_PREFIX.length);
            const caller = client ? serviceOfClientId(client.clientId) : undefined;
            // A service gets tokens only for callees the policy lets it call, with only those scopes.
            const scopes = caller ? scopesFor(caller, callee) : [];
            if (scopes.length === 0)
              throw new errors.InvalidTarget(`${client?.clientId ?? 'this client'} may not call ${callee}`);
            return {
              scope: scopes.join(' '),
              audience: callee,
              accessTokenTTL: config.SERVICE_TOKEN_TTL_SECONDS,
              accessTokenFormat: 'jwt',
              jwt: { sign: { alg: SIGNING_ALG } },
            } satisfies ResourceServerInfo;
          }
          throw new errors.InvalidTarget(`unknown resource; this server issues tokens for ${apiResource}`);
        },
      },
    },
    rotateRefreshToken: true,
    // Reuse of a rotated refresh token is answered by revoking the whole grant (oidc-provider default).
    ttl: {
      AccessToken: config.ACCESS_TOKEN_TTL_SECONDS,
      AuthorizationCode: AUTHORIZATION_CODE_TTL_SECONDS,
      IdToken: ID_TOKEN_TTL_SECONDS,
      Interaction: INTERACTION_TTL_SECONDS,
      Session: SESSION_TTL_SECONDS,
      Grant: config.REFRESH_TOKEN_TTL_SECONDS,
      ClientCredentials: config.SERVICE_TOKEN_TTL_SECONDS,
      // Rotation keeps the original expiry: a grant lives REFRESH_TOKEN_TTL_SECONDS, however often it is refreshed.
      RefreshToken: (
        ctx: { oidc?: { entities?: { RotatedRefreshToken?: { remainingTTL: number } } } } | undefined,
      ) => ctx?.oidc?.entities?.RotatedRefreshToken?.remainingTTL ?? config.REFRESH_TOKEN_TTL_SECONDS,
    },
    clientBasedCORS: () => false,
    renderError: async (ctx: KoaContextWithOIDC, out: Record<string, string>) => {
      const description = out.error_description ?? 'The request could not be completed.';
      sendPage(
        ctx,
        ctx.status >= 400 ? ctx.status : 400,
        messagePage('Sign-in problem', `${description} (${out.error ?? 'error'})`),
      );
    },
  });
  provider.proxy = true;
  // Koa says "https" for any TLS socket before it looks at X-Forwarded-Proto. The gateway reaches
  // auth over mutual TLS in the mtls mode, yet the issuer's URLs are the gateway's (plain http
  // here): the forwarded scheme wins. Only the gateway may call these routes (the trust policy).
  Object.defineProperty(provider.request, 'protocol', {
    configurable: true,
    get(this: { get(name: string): string; socket: { encrypted?: boolean } }) {
      const forwarded = this.get('X-Forwarded-Proto');
      if (forwarded) return forwarded.split(',')[0]!.trim();
      return this.socket.encrypted ? 'https' : 'http';
    },
  });

  provider.use(async (ctx, next) => {
    await next();
    // scopes_supported lists only the server's own scopes; the API scopes are worth advertising too.
    if (
      ctx.path === '/.well-known/openid-configuration' &&
      ctx.status === 200 &&
      ctx.body &&
      typeof ctx.body === 'object'
    ) {
      const body = ctx.body as Record<string, unknown>;
      body.scopes_supported = [...OIDC_SCOPES, ...API_SCOPES];
    }
  });

  provider.on('server_error', (_ctx: unknown, error: Error) =>
    log.error({ err: error }, 'oauth server error'),
  );
  provider.on('error', (error: Error) => log.error({ err: error }, 'oauth request failed'));
  provider.on('grant.error', (_ctx: unknown, error: Error & { error_detail?: string }) => {
    if (error.error_detail === 'refresh token already used')
      log.warn('a rotated refresh token was presented again; its grant is revoked');
  });
  provider.on('grant.revoked', (_ctx: unknown, grantId: string) => log.info({ grantId }, 'grant revoked'));
  options.listen?.(provider);
  return provider;
}

function sendPage(ctx: KoaContextWithOIDC, status: number, html: string): void {
  for (const [name, value] of Object.entries(PAGE_HEADERS)) ctx.set(name, value);
  ctx.status = status;
  ctx.body = html;
}
