import { runService } from '../../kit/server.ts';
import { gatewayDefinition } from './definition.ts';

await runService(gatewayDefinition);
