import { z } from 'zod';

/** The handle rule every service of the cluster applies (auth assigns them at sign-up). */
export const handleSchema = z
  .string()
  .regex(/^[a-z0-9_]{3,15}$/, 'must be 3 to 15 lowercase letters, digits or underscores');

export const handleParams = z.object({ handle: handleSchema });
export const followParams = z.object({ handle: handleSchema, target: handleSchema });

export const profileBody = z.strictObject({
  handle: handleSchema,
  displayName: z.string().trim().min(1).max(100),
  createdAt: z.iso.datetime({ offset: true }),
});

export const batchBody = z.strictObject({
  handles: z.array(handleSchema).min(1).max(200),
});

export const pageQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  after: handleSchema.optional(),
});
