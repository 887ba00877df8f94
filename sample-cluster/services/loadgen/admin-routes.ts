import type { FastifyInstance } from 'fastify';
import type { LoadGenerator } from './generator.ts';

/**
 * Live control of the load, under /admin (so behind the cluster admin credential):
 * GET /admin/load → settings and client-side stats; PUT /admin/load → change any subset of the
 * settings (400 problem listing each invalid field); DELETE /admin/load/stats → start counting afresh.
 */
export function registerLoadAdminRoutes(admin: FastifyInstance, generator: LoadGenerator): void {
  admin.get('/load', async () => ({ settings: generator.settings(), stats: generator.stats() }));

  admin.put('/load', async (request) => {
    // update() validates the patch and the merged result, and throws the 400 problem itself.
    const settings = generator.update(request.body ?? {});
    return { settings, stats: generator.stats() };
  });

  admin.delete('/load/stats', async (_request, reply) => {
    generator.resetStats();
    return reply.code(204).send();
  });
}
