import { join } from 'node:path';
import type { baseConfigSchema } from '../../kit/config.ts';
import type { ServiceDefinition } from '../../kit/server.ts';
import { openDatabase } from '../../kit/storage.ts';
import { TIMELINE_MIGRATIONS } from './migrations.ts';
import { registerTimelineRoutes } from './routes.ts';
import { TimelineStore } from './timeline-store.ts';

export const TIMELINE_DB_FILE = 'timeline.db';

/**
 * Home timelines (fan-out on write from tweets' outbox) and user timelines.
 *
 * Readiness follows the database: it is opened before the server listens (a failure stops the
 * start), and the server reports not ready from the moment it starts closing it.
 */
export const timelineService: ServiceDefinition<typeof baseConfigSchema> = {
  setup(app, ctx) {
    const db = openDatabase(join(ctx.config.DATA_DIR, TIMELINE_DB_FILE), TIMELINE_MIGRATIONS);
    ctx.onClose(() => {
      ctx.setNotReady('database closed');
      db.close();
    });
    registerTimelineRoutes(app, { store: new TimelineStore(db), client: ctx.client });
  },
};
