import { z } from 'zod';

export { handleSchema, tweetIdSchema } from '../../kit/identifiers.ts';
import { handleSchema, tweetIdSchema } from '../../kit/identifiers.ts';

/** What tweets' outbox posts: the event's payload plus its name and a delivery id. */
export const tweetPostedEvent = z.object({
  tweetId: tweetIdSchema,
  author: handleSchema,
  text: z.string(),
  createdAt: z.iso.datetime({ offset: true }),
  event: z.literal('tweet.posted'),
  eventId: z.string().min(1).max(200),
});
export type TweetPostedEvent = z.infer<typeof tweetPostedEvent>;

export const timelineParams = z.object({ handle: handleSchema });

export const timelineQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  before: tweetIdSchema.optional(),
});

/** The page shape users answers with for followers. */
export const handlePage = z.object({ handles: z.array(handleSchema), next: handleSchema.nullable() });
