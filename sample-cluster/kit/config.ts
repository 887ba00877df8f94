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
  /**
   * Trust between services (kit/trust). Without TRUST_CA_CERT the service runs unguarded (unit
   * tests of a single service); every runtime sets all of these (see InstanceEnv in cluster.ts).
   */
  TRUST_CA_CERT: z.preprocess(unsetIfEmpty, z.string().startsWith('-----BEGIN CERTIFICATE-----').optional()),
  /** The instance's enrollment credential at auth (an HMAC of its service name). */
  TRUST_ENROLL_TOKEN: z.preprocess(unsetIfEmpty, z.string().min(16).optional()),
  /** Port of the mutual-TLS listener (0: any free port, published in the registry). */
  TRUST_TLS_PORT: z.preprocess(unsetIfEmpty, z.coerce.number().int().min(0).max(65535).default(0)),
  /** Lifetime asked for each certificate (default 1 h; 300 for the 5-minute demo setting). */
  TRUST_CERT_TTL_SECONDS: z.preprocess(
    unsetIfEmpty,
    z.coerce.number().int().min(30).max(86_400).default(3600),
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
