import { runService } from '../../kit/server.ts';
import { tweetsService } from './service.ts';

await runService(tweetsService);
