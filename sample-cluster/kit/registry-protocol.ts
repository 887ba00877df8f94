import { z } from 'zod';

/**
 * The registry's wire contract, shared by the registry service (which validates what it is sent)
 * and the discovery client (which validates what the registry answers).
 */

export const DEFAULT_TTL_SECONDS = 5;
export const MIN_TTL_SECONDS = 1;
export const MAX_TTL_SECONDS = 60;

export const serviceNameSchema = z
  .string()
  .regex(
    /^[a-z][a-z0-9-]{0,62}$/,
    'must be lowercase letters, digits and dashes, starting with a letter (at most 63)',
  );

export const instanceIdSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._:~-]{0,127}$/,
    'must be letters, digits and . _ : ~ - (at most 128), starting with a letter or digit',
  );

export const addressSchema = z
  .string()
  .regex(/^[^:\s/[\]]+:\d{1,5}$/, { message: 'must be host:port', abort: true })
  .refine((value) => {
    const port = Number(value.slice(value.lastIndexOf(':') + 1));
    return port >= 1 && port <= 65535;
  }, 'port must be 1..65535');

const MAX_META_ENTRIES = 32;
export const metaSchema = z
  .record(z.string().min(1).max(64), z.string().max(512))
  .refine((meta) => Object.keys(meta).length <= MAX_META_ENTRIES, `at most ${MAX_META_ENTRIES} entries`);

export const instanceParamsSchema = z.object({ service: serviceNameSchema, instanceId: instanceIdSchema });
export const serviceParamsSchema = z.object({ service: serviceNameSchema });

/** Body of PUT /v1/instances/:service/:instanceId. Unknown keys are refused so a typo is not silently ignored. */
export const registerBodySchema = z.strictObject({
  address: addressSchema,
  meta: metaSchema.default({}),
  ttlSeconds: z.number().min(MIN_TTL_SECONDS).max(MAX_TTL_SECONDS).default(DEFAULT_TTL_SECONDS),
});
export type RegisterBody = z.input<typeof registerBodySchema>;

/** An instance as the registry shows it. Times are ISO 8601. */
export const instanceViewSchema = z.object({
  id: z.string(),
  service: z.string(),
  address: z.string(),
  meta: z.record(z.string(), z.string()),
  registeredAt: z.string(),
  lastHeartbeat: z.string(),
  ttlSeconds: z.number(),
});
export type InstanceView = z.infer<typeof instanceViewSchema>;

export const serviceViewSchema = z.object({ service: z.string(), instances: z.array(instanceViewSchema) });
export type ServiceView = z.infer<typeof serviceViewSchema>;

export const servicesListSchema = z.object({ services: z.array(serviceViewSchema) });
export type ServicesList = z.infer<typeof servicesListSchema>;

/**
 * Events on GET /v1/watch (Server-Sent Events). The first event of every connection is a
 * `snapshot` of everything; the others are deltas. `at` is when the registry saw the change.
 */
export const watchSnapshotSchema = servicesListSchema;
export const watchRegisteredSchema = z.object({ instance: instanceViewSchema, at: z.string() });
export const watchDeregisteredSchema = z.object({
  instance: instanceViewSchema,
  at: z.string(),
  forced: z.boolean(),
});
export const watchEvictedSchema = z.object({ instance: instanceViewSchema, at: z.string() });

export type WatchEvent =
  | { type: 'snapshot'; data: z.infer<typeof watchSnapshotSchema> }
  | { type: 'registered'; data: z.infer<typeof watchRegisteredSchema> }
  | { type: 'deregistered'; data: z.infer<typeof watchDeregisteredSchema> }
  | { type: 'evicted'; data: z.infer<typeof watchEvictedSchema> };

export const WATCH_EVENT_SCHEMAS = {
  snapshot: watchSnapshotSchema,
  registered: watchRegisteredSchema,
  deregistered: watchDeregisteredSchema,
  evicted: watchEvictedSchema,
} as const;

/** The registry sends a comment at least this often so that a silent stream means a dead one. */
export const WATCH_KEEPALIVE_MS = 10_000;

export function instancePath(service: string, instanceId: string): string {
  return `/v1/instances/${encodeURIComponent(service)}/${encodeURIComponent(instanceId)}`;
}

export function servicePath(service: string): string {
  return `/v1/services/${encodeURIComponent(service)}`;
}
