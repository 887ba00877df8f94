import { z } from 'zod';

export { handleSchema, tweetIdSchema } from '../../kit/identifiers.ts';
import { handleSchema, tweetIdSchema } from '../../kit/identifiers.ts';

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
