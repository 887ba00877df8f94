import type { FastifyInstance } from 'fastify';
import { HttpProblem, notFound, serviceUnavailable } from '../../kit/problem.ts';
import {
  instanceParamsSchema,
  registerBodySchema,
  serviceParamsSchema,
} from '../../kit/registry-protocol.ts';
import { parse } from '../../kit/validate.ts';
import { RegistryFullError, type InstanceStore } from './instance-store.ts';
import type { WatchHub } from './watch-hub.ts';

/** Tells a client whose heartbeat was refused what to do, so it re-registers instead of giving up. */
const UNKNOWN_INSTANCE_TYPE = 'https://chaoscope.dev/problems/registry-unknown-instance';

export function registerRegistryRoutes(
  app: FastifyInstance,
  deps: { store: InstanceStore; hub: WatchHub },
): void {
  const { store, hub } = deps;

  app.put('/v1/instances/:service/:instanceId', async (request, reply) => {
    const { service, instanceId } = parse(instanceParamsSchema, request.params, 'params');
    const body = parse(registerBodySchema, request.body);
    try {
      const { created, instance } = store.register(service, instanceId, body);
      return reply.code(created ? 201 : 200).send(instance);
    } catch (error) {
      if (error instanceof RegistryFullError) throw serviceUnavailable(error.message, 5);
      throw error;
    }
  });

  app.put('/v1/instances/:service/:instanceId/heartbeat', async (request) => {
    const { service, instanceId } = parse(instanceParamsSchema, request.params, 'params');
    const instance = store.heartbeat(service, instanceId);
    if (!instance) {
      throw new HttpProblem(
        404,
        `instance "${instanceId}" of "${service}" is not registered (unknown or evicted); register it again`,
        {
          type: UNKNOWN_INSTANCE_TYPE,
        },
      );
    }
    return instance;
  });

  app.delete('/v1/instances/:service/:instanceId', async (request, reply) => {
    const { service, instanceId } = parse(instanceParamsSchema, request.params, 'params');
    if (!store.deregister(service, instanceId))
      throw notFound(`instance "${instanceId}" of "${service}" is not registered`);
    return reply.code(204).send();
  });

  app.get('/v1/services', async () => ({ services: store.services() }));

  app.get('/v1/services/:service', async (request) => {
    const { service } = parse(serviceParamsSchema, request.params, 'params');
    // An unknown service is not an error for discovery: it simply has no instances right now.
    return { service, instances: store.list(service) };
  });

  app.get('/v1/watch', async (request, reply) => {
    hub.attach(request, reply, { services: store.services() });
    return reply;
  });
}

/** Extra admin route: remove an instance by force (it comes back if it is alive and heartbeats). */
export function registerRegistryAdminRoutes(admin: FastifyInstance, store: InstanceStore): void {
  admin.delete('/instances/:service/:instanceId', async (request, reply) => {
    const { service, instanceId } = parse(instanceParamsSchema, request.params, 'params');
    if (!store.deregister(service, instanceId, { forced: true })) {
      throw notFound(`instance "${instanceId}" of "${service}" is not registered`);
    }
    return reply.code(204).send();
  });
}
