/**
 * The service registry's own view of the cluster, read from its HTTP API (GET /v1/services) and
 * set beside what the runtime runs, and forced deregistration through its admin route. The
 * registry is the discovery plane: it is not behind service trust, only its admin routes take the
 * cluster admin credential.
 */
import { request } from 'undici';
import { z } from 'zod';
import { ApiError } from '../../api/errors.ts';
import type { RegistryInstance, RegistryList, RegistryStatus } from '../../api/insight-commands.ts';
import { servicesListSchema } from '../../../sample-cluster/kit/registry-protocol.ts';
import type { ClusterRuntime, ClusterStatus } from '../../../sample-cluster/runtime/types.ts';

const TIMEOUT_MS = 3_000;

/** The address of a running registry instance, or UNAVAILABLE saying why there is none. */
export function registryAddress(status: ClusterStatus): { id: string; address: string } {
  const registry = status.services.find((s) => s.name === 'registry');
  const running = registry?.instances.find((i) => i.state === 'running');
  if (!running) {
    throw new ApiError(
      'UNAVAILABLE',
      'the registry service is not running, so there is no registry to ask; start it (`chaoscope start registry`)',
    );
  }
  return { id: running.id, address: running.address };
}

async function call(
  address: string,
  method: 'GET' | 'DELETE',
  path: string,
  token?: string,
): Promise<{ status: number; body: unknown }> {
  try {
    const response = await request(`http://${address}${path}`, {
      method,
      headers: token ? { authorization: `Bearer ${token}` } : {},
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    const text = await response.body.text();
    let body: unknown = text;
    try {
      body = text === '' ? undefined : (JSON.parse(text) as unknown);
    } catch {
      // Not JSON: keep the text for the message.
    }
    return { status: response.statusCode, body };
  } catch (error) {
    const reason =
      error instanceof Error && error.name === 'TimeoutError'
        ? `no answer within ${TIMEOUT_MS} ms (is it paused or partitioned?)`
        : error instanceof Error
          ? ((error as { code?: string }).code ?? error.message)
          : String(error);
    throw new ApiError(
      'UNAVAILABLE',
      `the registry at ${address} did not answer ${method} ${path}: ${reason}`,
    );
  }
}

const problemSchema = z.object({ detail: z.string().optional(), title: z.string().optional() }).loose();
const problemText = (body: unknown, fallback: string) => {
  const p = problemSchema.safeParse(body);
  return (p.success ? (p.data.detail ?? p.data.title) : undefined) ?? fallback;
};

function statusOf(ageMs: number, ttlSeconds: number, runtimeState: string | null): RegistryStatus {
  if (runtimeState !== 'running') return 'stale';
  return ageMs > (ttlSeconds * 1000) / 2 ? 'late' : 'alive';
}

/** Every registered instance per service, with the runtime's running instances it does not list. */
export async function listRegistry(status: ClusterStatus, now = Date.now()): Promise<RegistryList> {
  const registry = registryAddress(status);
  const answer = await call(registry.address, 'GET', '/v1/services');
  if (answer.status !== 200) {
    throw new ApiError(
      'UNAVAILABLE',
      `the registry answered ${answer.status}: ${problemText(answer.body, 'no detail')}`,
    );
  }
  const parsed = servicesListSchema.safeParse(answer.body);
  if (!parsed.success) {
    throw new ApiError('INTERNAL', `the registry answered something unexpected: ${parsed.error.message}`);
  }
  const runtimeStates = new Map<string, { service: string; state: string; address: string }>();
  for (const s of status.services) {
    for (const i of s.instances)
      runtimeStates.set(i.id, { service: s.name, state: i.state, address: i.address });
  }
  const byService = new Map<string, RegistryInstance[]>();
  const listed = new Set<string>();
  for (const s of parsed.data.services) {
    for (const i of s.instances) {
      const runtime = runtimeStates.get(i.id);
      const runtimeState = runtime && runtime.service === s.service ? runtime.state : null;
      const ageMs = Math.max(0, now - Date.parse(i.lastHeartbeat));
      listed.add(`${s.service}/${i.id}`);
      const list = byService.get(s.service) ?? [];
      list.push({
        service: s.service,
        instanceId: i.id,
        address: i.address,
        registeredAt: i.registeredAt,
        lastHeartbeat: i.lastHeartbeat,
        ageMs,
        ttlSeconds: i.ttlSeconds,
        meta: i.meta,
        status: statusOf(ageMs, i.ttlSeconds, runtimeState),
        runtimeState,
      });
      byService.set(s.service, list);
    }
  }
  // What runs but is not registered: the registry itself (it does not list itself) is left out.
  for (const s of status.services) {
    if (s.name === 'registry') continue;
    for (const i of s.instances) {
      if (i.state !== 'running' || listed.has(`${s.name}/${i.id}`)) continue;
      const list = byService.get(s.name) ?? [];
      list.push({
        service: s.name,
        instanceId: i.id,
        address: i.address,
        registeredAt: null,
        lastHeartbeat: null,
        ageMs: null,
        ttlSeconds: null,
        meta: {},
        status: 'unregistered',
        runtimeState: i.state,
      });
      byService.set(s.name, list);
    }
  }
  return {
    registry: registry.id,
    at: new Date(now).toISOString(),
    runtime: status.runtime,
    services: [...byService]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([service, instances]) => ({
        service,
        instances: instances.sort((a, b) => a.instanceId.localeCompare(b.instanceId)),
      })),
  };
}

/** Remove one instance by force (the registry's admin route); NOT_FOUND when it is not listed. */
export async function deregister(
  runtime: ClusterRuntime,
  status: ClusterStatus,
  service: string,
  instanceId: string,
): Promise<void> {
  const registry = registryAddress(status);
  const path = `/admin/instances/${encodeURIComponent(service)}/${encodeURIComponent(instanceId)}`;
  const answer = await call(registry.address, 'DELETE', path, await runtime.adminToken());
  if (answer.status === 204 || answer.status === 200) return;
  if (answer.status === 404) {
    throw new ApiError('NOT_FOUND', `instance "${instanceId}" of "${service}" is not registered`);
  }
  throw new ApiError(
    'UNAVAILABLE',
    `the registry refused to deregister ${service}/${instanceId} (${answer.status}): ${problemText(answer.body, 'no detail')}`,
  );
}
