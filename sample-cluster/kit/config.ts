import { z } from 'zod';

/** An empty variable means "not set" (shells and compose files leave such variables behind). */
const unsetIfEmpty = (value: unknown) => (value === '' ? undefined : value);

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
  /**
   * Telemetry (telemetry/instrument/settings.ts): without an endpoint no SDK is loaded at all.
   * The exporter defaults to otlp-proto when OTEL_EXPORTER_OTLP_ENDPOINT is set.
   */
  OTEL_EXPORTER: z.preprocess(unsetIfEmpty, z.enum(['otlp-proto', 'otlp-json', 'jaeger', 'none']).optional()),
  /** OTLP/HTTP base URL, e.g. http://127.0.0.1:4318. */
  OTEL_EXPORTER_OTLP_ENDPOINT: z.preprocess(unsetIfEmpty, z.url().optional()),
  /** Jaeger Thrift-over-HTTP URL, e.g. http://127.0.0.1:14268/api/traces. */
  OTEL_EXPORTER_JAEGER_ENDPOINT: z.preprocess(unsetIfEmpty, z.url().optional()),
  /** Milliseconds between span batches (default 200). */
  OTEL_BSP_SCHEDULE_DELAY: z.preprocess(unsetIfEmpty, z.coerce.number().int().min(1).max(60_000).optional()),
  /** Milliseconds between metric exports (default 3000). */
  OTEL_METRIC_EXPORT_INTERVAL: z.preprocess(
    unsetIfEmpty,
    z.coerce.number().int().min(100).max(600_000).optional(),
  ),
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
