import type { FastifyInstance } from 'fastify';
import { badRequest, notFound } from '../../kit/problem.ts';
import { parse } from '../../kit/validate.ts';
import { batchBody, followParams, handleParams, pageQuery, profileBody } from './schemas.ts';
import type { FollowOutcome, UserStore } from './user-store.ts';

export function registerUserRoutes(app: FastifyInstance, store: UserStore): void {
  app.put('/v1/users/:handle', async (request, reply) => {
    const { handle } = parse(handleParams, request.params, 'params');
    const body = parse(profileBody, request.body);
    if (body.handle !== handle)
      throw badRequest(`/body/handle: "${body.handle}" does not match the handle in the path ("${handle}")`);
    const { created, profile } = store.create(body);
    return reply.code(created ? 201 : 200).send(profile);
  });

  app.get('/v1/users/:handle', async (request) => {
    const { handle } = parse(handleParams, request.params, 'params');
    const profile = store.get(handle);
    if (!profile) throw notFound(`no user "${handle}"`);
    return profile;
  });

  app.post('/v1/users/batch', async (request) => {
    const { handles } = parse(batchBody, request.body);
    const unique = [...new Set(handles)];
    const found = store.getMany(unique);
    return {
      users: unique.flatMap((h) => found.get(h) ?? []),
      missing: unique.filter((h) => !found.has(h)),
    };
  });

  app.put('/v1/users/:handle/following/:target', async (request, reply) => {
    const { handle, target } = parse(followParams, request.params, 'params');
    if (handle === target) throw badRequest('a user cannot follow themselves');
    answerFollow(store.follow(handle, target), handle, target);
    return reply.code(204).send();
  });

  app.delete('/v1/users/:handle/following/:target', async (request, reply) => {
    const { handle, target } = parse(followParams, request.params, 'params');
    if (handle === target) throw badRequest('a user cannot unfollow themselves');
    answerFollow(store.unfollow(handle, target), handle, target);
    return reply.code(204).send();
  });

  app.get('/v1/users/:handle/followers', async (request) => {
    const { handle } = parse(handleParams, request.params, 'params');
    const { limit, after } = parse(pageQuery, request.query, 'query');
    if (!store.exists(handle)) throw notFound(`no user "${handle}"`);
    return store.followers(handle, limit, after);
  });

  app.get('/v1/users/:handle/following', async (request) => {
    const { handle } = parse(handleParams, request.params, 'params');
    const { limit, after } = parse(pageQuery, request.query, 'query');
    if (!store.exists(handle)) throw notFound(`no user "${handle}"`);
    return store.following(handle, limit, after);
  });
}

function answerFollow(outcome: FollowOutcome, handle: string, target: string): void {
  if (outcome === 'unknown-follower') throw notFound(`no user "${handle}"`);
  if (outcome === 'unknown-target') throw notFound(`no user "${target}"`);
}
