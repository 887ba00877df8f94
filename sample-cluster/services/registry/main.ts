import { runService } from '../../kit/server.ts';
import { registryService } from './service.ts';

await runService(registryService);
