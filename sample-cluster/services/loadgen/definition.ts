import type { ServiceDefinition } from '../../kit/server.ts';
import { registerLoadAdminRoutes } from './admin-routes.ts';
import { initialSettings, loadgenConfigSchema } from './config.ts';
import { LoadGenerator } from './generator.ts';

/**
 * The load generator: simulated users that reach the cluster only through the gateway's public
 * API, like real clients. It is ready as soon as it listens, whether or not the gateway answers
 * yet; users keep retrying their logins with a backoff, so the load survives gateway restarts.
 */
export const loadgenDefinition: ServiceDefinition<typeof loadgenConfigSchema> = {
  configSchema: loadgenConfigSchema,
  setup(_app, ctx) {
    const { config } = ctx;
    const generator = new LoadGenerator({
      baseUrl: config.PUBLIC_URL,
      settings: initialSettings(config),
      handlePrefix: config.LOADGEN_HANDLE_PREFIX,
      password: config.LOADGEN_PASSWORD,
      clientId: config.LOADGEN_CLIENT_ID,
      ...(config.LOADGEN_RESOURCE ? { resource: config.LOADGEN_RESOURCE } : {}),
      timeoutMs: config.LOADGEN_TIMEOUT_MS,
      log: ctx.log.child({ component: 'load' }),
    });
    ctx.admin.add((admin) => registerLoadAdminRoutes(admin, generator));
    ctx.onClose(() => generator.close());
    if (config.LOADGEN_AUTOSTART) generator.start();
    const s = generator.settings();
    ctx.log.info(
      {
        target: config.PUBLIC_URL,
        running: s.running,
        ratePerSecond: s.ratePerSecond,
        users: s.users,
        streamers: s.streamers,
        mix: s.mix,
      },
      s.running ? 'generating load' : 'load generator idle until PUT /admin/load {"running": true}',
    );
  },
};
