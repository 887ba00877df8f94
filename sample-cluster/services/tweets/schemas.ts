import { z } from 'zod';

export { handleSchema, tweetIdSchema } from '../../kit/identifiers.ts';
import { handleSchema, tweetIdSchema } from '../../kit/identifiers.ts';

export const MAX_TWEET_CHARS = 280;
/** Counted in code points, as people count characters: an emoji is one, not two UTF-16 units. */
const tweetText = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .superRefine((text, ctx) => {
    const length = [...text].length;
    if (length > MAX_TWEET_CHARS)
      ctx.addIssue({
        code: 'custom',
        message: `must be at most ${MAX_TWEET_CHARS} characters (got ${length})`,
      });
  });

export const postTweetBody = z.strictObject({ author: handleSchema, text: tweetText });

/** Clients make one key per logical post (a UUID); visible ASCII only, as it travels in a header. */
export const idempotencyKeySchema = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[\x21-\x7e]+$/, 'must be visible ASCII characters');

export const tweetParams = z.object({ id: tweetIdSchema });

export const batchBody = z.strictObject({ ids: z.array(tweetIdSchema).min(1).max(200) });

/** Enough for a home-timeline fallback over everyone a user follows while staying a sane URL. */
export const MAX_AUTHORS = 500;
const oneOrMany = <T extends z.ZodType>(item: T) => z.union([item.transform((v) => [v]), z.array(item)]);

export const listQuery = z.strictObject({
  author: oneOrMany(handleSchema).pipe(z.array(handleSchema).min(1).max(MAX_AUTHORS)),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  before: tweetIdSchema.optional(),
});
