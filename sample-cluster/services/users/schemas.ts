import { z } from 'zod';

export { handleSchema } from '../../kit/identifiers.ts';
import { handleSchema } from '../../kit/identifiers.ts';

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
