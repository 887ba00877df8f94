import { runService } from '../../kit/server.ts';
import { authService } from './service.ts';

await runService(authService);
