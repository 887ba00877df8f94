import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { SERVICE_NAMES } from '../cluster.ts';
import { breakerSettingsSchema, type BreakerRegistry } from './breaker.ts';
import { faultSpecSchema } from './faults.ts';
import { HttpProblem, notFound } from './problem.ts';
import type { ServiceContext } from './server.ts';
import { parse } from './validate.ts';

export interface AdminRouteRegistrar {
  /** Register routes relative to /admin; they run behind the admin credential. */
  add(fn: (admin: FastifyInstance) => void | Promise<void>): void;
}

/** Constant-time comparison of a presented bearer credential with the cluster admin token. */
export function isAdminToken(presented: string | undefined, expected: string): boolean {
  if (!presented) return false;
  const a = Buffer.from(presented);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

const breakerNameParams = z.object({ name: z.string().min(1).max(200) });
const breakerAction = z.object({ action: z.enum(['open', 'close', 'reset']) });
const faultIdParams = z.object({ id: z.string().min(1).max(100) });

/**
 * The admin surface every service shares: breakers and faults. Guarded by the cluster admin
 * credential made at `up`; a missing or wrong credential is 401 and reveals nothing.
 */
export async function registerAdminRoutes(
  app: FastifyInstance,
  options: {
    token: string;
    ctx: ServiceContext;
    extra: ReadonlyArray<(admin: FastifyInstance) => void | Promise<void>>;
  },
): Promise<void> {
  const { ctx } = options;
  await app.register(
    async (admin) => {
      admin.addHook('onRequest', async (request) => {
        const header = request.headers.authorization;
        const presented = header?.startsWith('Bearer ') ? header.slice(7) : undefined;
        if (!isAdminToken(presented, options.token)) {
          throw new HttpProblem(401, 'admin routes need the cluster admin credential', {
            headers: { 'www-authenticate': 'Bearer realm="chaoscope-admin"' },
          });
        }
      });

      admin.get('/info', async () => ({
        service: ctx.config.CHAOSCOPE_SERVICE,
        instance: ctx.config.CHAOSCOPE_INSTANCE_ID,
        address: ctx.config.ADVERTISE_ADDRESS,
        pid: process.pid,
        uptimeSeconds: Math.round(process.uptime()),
        memory: process.memoryUsage(),
        discovery: { mode: ctx.discovery.mode, connected: ctx.discovery.connected() },
      }));

      admin.get('/breakers', async () => ({ breakers: ctx.breakers.snapshots() }));
      admin.get('/breakers/:name', async (request) => {
        const { name } = parse(breakerNameParams, request.params, 'params');
        const snapshot = ctx.breakers.snapshot(name);
        if (!snapshot) throw notFound(`no breaker named "${name}"`);
        return snapshot;
      });
      admin.post('/breakers/:name', async (request) => {
        const { name } = parse(breakerNameParams, request.params, 'params');
        const { action } = parse(breakerAction, request.body);
        const breaker = findOrPrepare(ctx.breakers, ctx.config.CHAOSCOPE_SERVICE, name);
        if (!breaker) throw notFound(`no breaker named "${name}"`);
        if (action === 'open') breaker.forceOpen();
        else if (action === 'close') breaker.forceClosed();
        else breaker.reset();
        return breaker.snapshot();
      });
      admin.put('/breakers/:name/settings', async (request) => {
        const { name } = parse(breakerNameParams, request.params, 'params');
        const settings = parse(breakerSettingsSchema.partial(), request.body);
        const breaker = findOrPrepare(ctx.breakers, ctx.config.CHAOSCOPE_SERVICE, name);
        if (!breaker) throw notFound(`no breaker named "${name}"`);
        breaker.configure(settings);
        return breaker.snapshot();
      });

      admin.get('/faults', async () => ({ faults: ctx.faults.list() }));
      admin.post('/faults', async (request, reply) => {
        const spec = parse(faultSpecSchema, request.body);
        const fault = ctx.faults.add(spec);
        return reply.code(201).send(fault);
      });
      admin.delete('/faults/:id', async (request, reply) => {
        const { id } = parse(faultIdParams, request.params, 'params');
        if (!ctx.faults.remove(id)) throw notFound(`no active fault "${id}"`);
        return reply.code(204).send();
      });
      admin.delete('/faults', async () => ({ removed: ctx.faults.clear() }));

      for (const fn of options.extra) await fn(admin);
    },
    { prefix: '/admin' },
  );
}

/**
 * Breakers come into being with the first call on their edge; an operator may act on one before
 * any traffic (trip gateway:timeline on an idle cluster), so an action on `<this service>:<another
 * cluster service>` prepares it.
 */
function findOrPrepare(breakers: BreakerRegistry, self: string, name: string) {
  const found = breakers.find(name);
  if (found) return found;
  const [caller, callee] = name.split(':');
  const known = (SERVICE_NAMES as readonly string[]).includes(callee ?? '');
  return caller === self && known && callee !== self ? breakers.forCallee(callee!) : undefined;
}
