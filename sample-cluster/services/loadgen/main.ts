import { runService } from '../../kit/server.ts';
import { loadgenDefinition } from './definition.ts';

await runService(loadgenDefinition);
