/** How a service is doing, from its instances: the colour of its node and its badge. Pure. */
import type { ServiceStatus } from '../../../electron/api/index.ts';

export type Health = 'healthy' | 'degraded' | 'down' | 'starting' | 'paused';

export function serviceHealth(service: ServiceStatus, now = Date.now()): Health {
  const instances = service.instances;
  if (instances.length === 0) return 'down';
  if (instances.some((i) => i.pausedUntil && Date.parse(i.pausedUntil) > now)) return 'paused';
  const up = instances.filter((i) => i.state === 'running' && i.health === 'healthy').length;
  if (up === instances.length) return 'healthy';
  if (instances.every((i) => i.state === 'starting')) return 'starting';
  if (instances.every((i) => i.state !== 'running' && i.state !== 'starting')) return 'down';
  // Some instance is up, starting, or running but failing its health check: not dead, not well.
  return 'degraded';
}
