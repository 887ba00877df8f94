import type { ServiceDefinition } from '../../kit/server.ts';
import { Outbox } from '../../kit/outbox.ts';
import { PROFILE_ROUTE, registerAccountRoutes } from './account-routes.ts';
import { AccountStore, PROFILE_DESTINATION } from './accounts.ts';
import { authConfigSchema } from './config.ts';
import { openAuthDatabase } from './database.ts';
import { registerInteractionRoutes } from './interactions.ts';
import { loadCookieKeys, loadSigningKeys } from './keys.ts';
import { sweepExpired } from './oidc-adapter.ts';
import { mountProvider } from './oidc-mount.ts';
import { createProvider } from './provider.ts';

const SWEEP_INTERVAL_MS = 60_000;

/**
 * The OAuth 2.0 authorization server of the tweet cluster (oidc-provider) and its accounts.
 * The issuer is the gateway's public URL: the gateway forwards /.well-known/* and /oauth/* here
 * unchanged with X-Forwarded-Host/-Proto/-For, so every URL the server prints is the gateway's.
 */
export const authService: ServiceDefinition<typeof authConfigSchema> = {
  configSchema: authConfigSchema,
  async setup(app, ctx) {
    const { config, log } = ctx;
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

    const provider = createProvider({
      issuer: config.PUBLIC_URL.replace(/\/$/, ''),
      config,
      db,
      accounts,
      signingKeys: await loadSigningKeys(db),
      cookieKeys: loadCookieKeys(db),
      log,
    });
    const sweep = setInterval(() => {
      const removed = sweepExpired(db);
      if (removed > 0) log.debug({ removed }, 'expired oauth artifacts removed');
    }, SWEEP_INTERVAL_MS);
    sweep.unref();
    ctx.onClose(() => clearInterval(sweep));

    await mountProvider(app, provider);
    await registerInteractionRoutes(app, { provider, accounts, apiResource: config.API_RESOURCE, log });
    registerAccountRoutes(app, accounts, outbox);
    ctx.admin.add((admin) => {
      admin.get('/outbox', async () => outbox.stats());
    });
  },
};
