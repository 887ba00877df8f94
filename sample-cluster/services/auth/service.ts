import type { JWK } from 'jose';
import type { Provider } from 'oidc-provider';
import { ConfigError } from '../../kit/config.ts';
import type { ServiceDefinition } from '../../kit/server.ts';
import { Outbox } from '../../kit/outbox.ts';
import { loadCa } from '../../kit/trust/x509.ts';
import { AccessTokens } from './access-tokens.ts';
import { PROFILE_ROUTE, registerAccountRoutes } from './account-routes.ts';
import { AccountStore, PROFILE_DESTINATION } from './accounts.ts';
import { registerAuthAdminRoutes } from './admin-routes.ts';
import { AuthEvents } from './auth-events.ts';
import { CertificateAuthority } from './certificate-authority.ts';
import { authConfigSchema } from './config.ts';
import { openAuthDatabase } from './database.ts';
import { registerInteractionRoutes } from './interactions.ts';
import {
  loadCookieKeys,
  loadSigningKeys,
  nextRetirement,
  publicJwks,
  rotateSigningKey,
  signingKeyList,
} from './keys.ts';
import { SqliteOidcAdapter, sweepExpired } from './oidc-adapter.ts';
import { mountProvider, ProviderHolder } from './oidc-mount.ts';
import { createProvider } from './provider.ts';
import { registerRevocationRoute } from './revocation-route.ts';
import { TokenRegistry } from './token-registry.ts';
import { TrustHub } from './trust-hub.ts';
import { registerTrustRoutes } from './trust-routes.ts';
import { TrustStore } from './trust-store.ts';

const SWEEP_INTERVAL_MS = 60_000;

interface IssuedTokenEntity {
  readonly jti: string;
  readonly accountId?: string;
  readonly clientId: string;
  readonly grantId?: string;
  readonly scope?: string;
  readonly iat?: number;
  readonly exp?: number;
}

/**
 * The OAuth 2.0 authorization server of the tweet cluster (oidc-provider) and its accounts, and
 * the cluster's trust authority: the CA's signing service, the service-to-service mode, the shared
 * secrets, revocations, and the trust stream every instance listens to.
 * The issuer is the gateway's public URL: the gateway forwards /.well-known/* and /oauth/* here
 * unchanged with X-Forwarded-Host/-Proto/-For, so every URL the server prints is the gateway's.
 */
export const authService: ServiceDefinition<typeof authConfigSchema> = {
  configSchema: authConfigSchema,
  async setup(app, ctx) {
    const { config, log } = ctx;
    const issuer = config.PUBLIC_URL.replace(/\/$/, '');
    const db = openAuthDatabase(config.DATA_DIR);
    ctx.onClose(() => db.close());

    const outbox = new Outbox({
      db,
      client: ctx.client,
      routes: { [PROFILE_DESTINATION]: PROFILE_ROUTE },
      log: log.child({ component: 'outbox' }),
    });
    outbox.start();
    ctx.onClose(() => outbox.stop());
    const accounts = new AccountStore(db, outbox);

    const events = new AuthEvents(log, ctx.telemetry);
    const registry = new TokenRegistry(db, events);
    const store = new TrustStore(db);
    let signingKeys: JWK[] = await loadSigningKeys(db);
    const jwks = () => publicJwks(signingKeys);
    const hub = new TrustHub({
      store,
      tokens: registry,
      publicJwks: jwks,
      defaultMode: config.TRUST_MODE,
      log,
    });
    ctx.onClose(() => hub.close());
    const accessTokens = new AccessTokens({ issuer, jwks, registry });

    let ca: CertificateAuthority | undefined;
    if (config.TRUST_CA_KEY || ctx.trust) {
      if (!config.TRUST_CA_CERT || !config.TRUST_CA_KEY || !config.TRUST_ENROLL_SECRET)
        throw new ConfigError(
          'auth signs the cluster certificates: TRUST_CA_CERT, TRUST_CA_KEY and TRUST_ENROLL_SECRET are needed together',
        );
      ca = new CertificateAuthority({
        ca: await loadCa({ certPem: config.TRUST_CA_CERT, keyPem: config.TRUST_CA_KEY }),
        store,
        enrollSecret: config.TRUST_ENROLL_SECRET,
        clusterId: config.CHAOSCOPE_CLUSTER_ID,
        clients: new SqliteOidcAdapter(db, 'Client'),
        events,
      });
      const authority = ca;
      // Auth is its own trust authority: it enrolls and listens in-process.
      ctx.trust?.useLocalAuthority({
        enroll: (request) => authority.enroll(request),
        subscribe: (listener) => hub.subscribeLocal(listener),
      });
    }

    const listen = (provider: Provider) => {
      const record = (kind: 'access' | 'service') => (token: IssuedTokenEntity) => {
        const now = Math.floor(Date.now() / 1000);
        registry.recordIssued({
          jti: token.jti,
          kind,
          accountId: token.accountId ?? null,
          clientId: token.clientId,
          grantId: token.grantId ?? null,
          scope: token.scope ?? null,
          issuedAt: token.iat ?? now,
          exp: token.exp ?? now + config.ACCESS_TOKEN_TTL_SECONDS,
        });
      };
      provider.on('access_token.issued', record('access'));
      provider.on('client_credentials.issued', record('service'));
      provider.on(
        'grant.success',
        (c: { oidc: { params?: Record<string, unknown>; client?: { clientId: string } } }) => {
          const grantType = typeof c.oidc.params?.grant_type === 'string' ? c.oidc.params.grant_type : '';
          events.record(grantType === 'refresh_token' ? 'refreshed' : 'issued', {
            grantType,
            client: c.oidc.client?.clientId,
          });
        },
      );
      provider.on(
        'grant.error',
        (
          c: { oidc?: { client?: { clientId: string } } },
          error: Error & { error?: string; error_detail?: string },
        ) =>
          events.record('refused', {
            reason: error.error_detail ?? error.message,
            error: error.error,
            client: c.oidc?.client?.clientId,
          }),
      );
      // A revoked or reused refresh token ends its grant: its access tokens go with it.
      provider.on('grant.revoked', (_c: unknown, grantId: string) =>
        registry.revokeGrantTokens(grantId, 'its grant was revoked'),
      );
    };
    const build = async () =>
      createProvider({
        issuer,
        config,
        db,
        accounts,
        signingKeys,
        cookieKeys: loadCookieKeys(db),
        log,
        listen,
      });
    const holder = await ProviderHolder.create(build);

    /** Rebuild with the keys published now; again when the next retired key drops out of the JWKS. */
    let retireTimer: NodeJS.Timeout | undefined;
    const reloadKeys = async () => {
      signingKeys = await loadSigningKeys(db);
      await holder.rebuild();
      hub.publishState();
      clearTimeout(retireTimer);
      const next = nextRetirement(db);
      if (next !== null) {
        retireTimer = setTimeout(() => void reloadKeys(), Math.max(1_000, next - Date.now() + 100));
        retireTimer.unref();
      }
    };
    ctx.onClose(() => clearTimeout(retireTimer));
    if (nextRetirement(db) !== null) await reloadKeys();

    const sweep = setInterval(() => {
      const removed = sweepExpired(db);
      registry.sweep();
      if (removed > 0) log.debug({ removed }, 'expired oauth artifacts removed');
    }, SWEEP_INTERVAL_MS);
    sweep.unref();
    ctx.onClose(() => clearInterval(sweep));

    await registerRevocationRoute(app, { holder, accessTokens, registry, events });
    await mountProvider(app, holder);
    await registerInteractionRoutes(app, {
      provider: holder,
      accounts,
      apiResource: config.API_RESOURCE,
      log,
      onRefused: (reason) => events.record('refused', { reason }),
    });
    registerAccountRoutes(app, accounts, outbox);
    registerTrustRoutes(app, { ca, hub, accessTokens, apiAudience: config.API_AUDIENCE });
    ctx.admin.add((admin) => {
      admin.get('/outbox', async () => outbox.stats());
      registerAuthAdminRoutes(admin, {
        registry,
        accessTokens,
        events,
        hub,
        store,
        ca,
        signingKeys: () => signingKeyList(db),
        rotateKeys: async () => {
          // Old keys stay published while tokens they signed may still be presented.
          const kid = await rotateSigningKey(db, config.ACCESS_TOKEN_TTL_SECONDS + 60);
          await reloadKeys();
          return { kid, published: signingKeys.map((k) => k.kid!) };
        },
      });
    });
  },
};
