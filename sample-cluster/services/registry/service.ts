import { join } from 'node:path';
import type { Logger } from 'pino';
import type { baseConfigSchema } from '../../kit/config.ts';
import type { ServiceDefinition } from '../../kit/server.ts';
import { InstanceStore, type StoreChange } from './instance-store.ts';
import { registerRegistryAdminRoutes, registerRegistryRoutes } from './routes.ts';
import { loadSnapshot, SNAPSHOT_FILE, SnapshotWriter } from './snapshot.ts';
import { WatchHub } from './watch-hub.ts';

const SWEEP_INTERVAL_MS = 500;

/**
 * The service registry: register / heartbeat / deregister, TTL eviction, lookup and a watch
 * stream. State lives in memory; a snapshot on disk lets a restarted registry answer lookups at
 * once instead of waiting for every instance to re-register.
 */
export const registryService: ServiceDefinition<typeof baseConfigSchema> = {
  setup(app, ctx) {
    const { log } = ctx;
    const snapshotPath = join(ctx.config.DATA_DIR, SNAPSHOT_FILE);
    const store = new InstanceStore();
    const restored = store.restore(loadSnapshot(snapshotPath, log));
    if (restored > 0)
      log.info(
        { restored, path: snapshotPath },
        'restored instances from the snapshot; each must heartbeat within its TTL',
      );

    const writer = new SnapshotWriter({ path: snapshotPath, records: () => store.records(), log });
    const hub = new WatchHub({ log });
    store.onChange((change) => {
      announce(change, hub);
      logChange(change, ctx.log);
      writer.schedule();
    });

    const sweep = setInterval(() => store.sweep(), SWEEP_INTERVAL_MS);

    // Live instances per service as a metric, when telemetry is on; a service seen once reports 0
    // when its last instance leaves (a missing series would keep its last value on the charts).
    const seen = new Set<string>();
    ctx.telemetry?.gauge(
      'chaoscope.registry.instances',
      { description: 'Live instances per service.', unit: '{instance}' },
      () => {
        const live = new Map(store.services().map((s) => [s.service, s.instances.length]));
        for (const service of live.keys()) seen.add(service);
        return [...seen].map((service) => [live.get(service) ?? 0, { 'registry.service': service }] as const);
      },
    );

    registerRegistryRoutes(app, { store, hub });
    ctx.admin.add((admin) => registerRegistryAdminRoutes(admin, store));

    // Watch streams never go idle, so they must end before the server can finish draining.
    app.addHook('preClose', async () => hub.closeAll());
    ctx.onClose(async () => {
      clearInterval(sweep);
      await writer.close();
    });
  },
};

function announce(change: StoreChange, hub: WatchHub): void {
  const at = new Date(change.at).toISOString();
  if (change.type === 'deregistered')
    hub.broadcast(change.type, { instance: change.instance, at, forced: change.forced });
  else hub.broadcast(change.type, { instance: change.instance, at });
}

function logChange(change: StoreChange, log: Logger): void {
  // "member", not "service"/"instance": those keys already name the registry itself in every log line.
  const { id, service, address } = change.instance;
  const member = { service, id, address };
  if (change.type === 'registered') log.info({ member }, 'instance registered');
  else if (change.type === 'deregistered')
    log.info({ member, forced: change.forced }, 'instance deregistered');
  else {
    log.warn(
      {
        member,
        lastHeartbeat: change.instance.lastHeartbeat,
        ttlSeconds: change.instance.ttlSeconds,
        overdueMs: change.overdueMs,
      },
      'instance evicted: no heartbeat within its TTL',
    );
  }
}
