import { runService } from '../../kit/server.ts';
import { realtimeService } from './service.ts';

await runService(realtimeService);
