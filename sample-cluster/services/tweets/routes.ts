import type { FastifyInstance } from 'fastify';
import { notFound } from '../../kit/problem.ts';
import { parse } from '../../kit/validate.ts';
import { batchBody, idempotencyKeySchema, listQuery, postTweetBody, tweetParams } from './schemas.ts';
import type { Tweet, TweetStore } from './tweet-store.ts';

export function registerTweetRoutes(
  app: FastifyInstance,
  deps: { store: TweetStore; afterCommit: () => void },
): void {
  const { store } = deps;

  app.post('/v1/tweets', async (request, reply) => {
    const header = request.headers['idempotency-key'];
    const idempotencyKey =
      header === undefined ? undefined : parse(idempotencyKeySchema, header, 'headers/idempotency-key');
    const body = parse(postTweetBody, request.body);
    const { tweet, created } = store.post({ ...body, idempotencyKey });
    if (created) deps.afterCommit();
    else reply.header('idempotent-replayed', 'true');
    return reply.code(created ? 201 : 200).send(tweet);
  });

  app.post('/v1/tweets/batch', async (request) => {
    const { ids } = parse(batchBody, request.body);
    const unique = [...new Set(ids)];
    const found = store.getMany(unique);
    return {
      tweets: unique.flatMap((id): Tweet[] => {
        const tweet = found.get(id);
        return tweet ? [tweet] : [];
      }),
      missing: unique.filter((id) => !found.has(id)),
    };
  });

  app.get('/v1/tweets/:id', async (request) => {
    const { id } = parse(tweetParams, request.params, 'params');
    const tweet = store.get(id);
    if (!tweet) throw notFound(`no tweet "${id}"`);
    return tweet;
  });

  app.get('/v1/tweets', async (request) => {
    const { author, limit, before } = parse(listQuery, request.query, 'query');
    return { tweets: store.byAuthors(author, limit, before) };
  });
}
