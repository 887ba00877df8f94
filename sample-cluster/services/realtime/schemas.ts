import { z } from 'zod';

/** The handle rule every service of the cluster applies (auth assigns them at sign-up). */
export const handleSchema = z
  .string()
  .regex(/^[a-z0-9_]{3,15}$/, 'must be 3 to 15 lowercase letters, digits or underscores');
/** Tweet ids are ULIDs made by tweets. */
export const tweetIdSchema = z
  .string()
  .regex(/^[0-9A-HJKMNP-TV-Z]{26}$/, 'must be a tweet id (26 characters of Crockford base32)');

export const streamParams = z.object({ handle: handleSchema });

/** What tweets' outbox posts: the event's payload plus its name and a delivery id. */
export const tweetPostedEvent = z.object({
  tweetId: tweetIdSchema,
  author: handleSchema,
  text: z.string().min(1).max(2_000),
  createdAt: z.iso.datetime({ offset: true }),
  event: z.literal('tweet.posted'),
  eventId: z.string().min(1).max(200),
});

/** The page shape users answers with for followers. */
export const handlePage = z.object({ handles: z.array(handleSchema), next: handleSchema.nullable() });
