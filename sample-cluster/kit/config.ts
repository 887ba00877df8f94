import { z } from 'zod';

/** Environment every service shares (see InstanceEnv in sample-cluster/cluster.ts). */
export const baseConfigSchema = z.object({
  CHAOSCOPE_CLUSTER_ID: z.string().min(1),
  CHAOSCOPE_SERVICE: z.string().regex(/^[a-z][a-z0-9-]*$/),
  CHAOSCOPE_INSTANCE_ID: z.string().min(1),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535),
  ADVERTISE_ADDRESS: z.string().regex(/^[^:\s]+:\d{1,5}$/, 'must be host:port'),
  DATA_DIR: z.string().min(1),
  REGISTRY_URL: z.url(),
  ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters'),
  DISCOVERY: z.enum(['registry', 'dns']).default('registry'),
  PUBLIC_URL: z.url(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** dns discovery: how a service name becomes a host name, e.g. "{service}" or "{service}.chaoscope". */
  DNS_HOST_TEMPLATE: z.string().default('{service}'),
  /** dns discovery: the port every service listens on inside its own network namespace. */
  DNS_PORT: z.coerce.number().int().min(1).max(65535).optional(),
});

export type BaseConfig = z.infer<typeof baseConfigSchema>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/**
 * Parse the process environment with the service's schema. A missing or malformed variable stops
 * the service at start with every problem listed, never a silent default for a required value.
 */
export function loadConfig<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const result = schema.safeParse(env);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  return result.data;
}
