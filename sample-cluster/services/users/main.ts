import { runService } from '../../kit/server.ts';
import { usersService } from './service.ts';

await runService(usersService);
