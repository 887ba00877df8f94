import { runService } from '../../kit/server.ts';
import { timelineService } from './service.ts';

await runService(timelineService);
