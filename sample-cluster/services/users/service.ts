import { join } from 'node:path';
import type { baseConfigSchema } from '../../kit/config.ts';
import type { ServiceDefinition } from '../../kit/server.ts';
import { openDatabase } from '../../kit/storage.ts';
import { USERS_MIGRATIONS } from './migrations.ts';
import { registerUserRoutes } from './routes.ts';
import { UserStore } from './user-store.ts';

export const USERS_DB_FILE = 'users.db';

/** Profiles and the follow graph. Profiles are created by auth's outbox after sign-up. */
export const usersService: ServiceDefinition<typeof baseConfigSchema> = {
  setup(app, ctx) {
    const db = openDatabase(join(ctx.config.DATA_DIR, USERS_DB_FILE), USERS_MIGRATIONS);
    ctx.onClose(() => db.close());
    registerUserRoutes(app, new UserStore(db));
  },
};
