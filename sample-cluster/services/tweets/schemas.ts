import { z } from 'zod';
import { TWEET_ID_PATTERN } from './tweet-id.ts';

/** The handle rule every service of the cluster applies (auth assigns them at sign-up). */
export const handleSchema = z
  .string()
  .regex(/^[a-z0-9_]{3,15}$/, 'must be 3 to 15 lowercase letters, digits or underscores');
export const tweetIdSchema = z
  .string()
  .regex(TWEET_ID_PATTERN, 'must be a tweet id (26 characters of Crockford base32)');

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
