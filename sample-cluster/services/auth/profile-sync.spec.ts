import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../kit/testing.ts';
import { usersService } from '../users/service.ts';
import { call, TestCluster } from '../users/test-cluster.ts';
import { authService } from './service.ts';

let cluster: TestCluster;

beforeAll(async () => {
  cluster = await TestCluster.start();
  await cluster.start('users', usersService);
  await cluster.start('auth', authService);
  await cluster.registered('users');
});
afterAll(() => cluster?.close());

describe('profiles for new accounts (auth → users through the outbox)', () => {
  it('gives a new account its profile before the sign-up answers, when users is up', async () => {
    const signUp = await call(cluster.url('auth'), 'POST', '/accounts', {
      handle: 'erin',
      password: 'long enough',
      displayName: 'Erin',
    });
    expect(signUp.status).toBe(201);
    const profile = await call(cluster.url('users'), 'GET', '/v1/users/erin');
    expect(profile.status).toBe(200);
    expect(profile.body).toMatchObject({
      handle: 'erin',
      displayName: 'Erin',
      createdAt: signUp.body.createdAt,
    });
  });

  it('still signs up while users is down, and delivers the profile once users is back', async () => {
    await cluster.stop('users');
    const started = Date.now();
    const signUp = await call(cluster.url('auth'), 'POST', '/accounts', {
      handle: 'frank',
      password: 'long enough',
      displayName: 'Frank',
    });
    expect(signUp.status).toBe(201);
    expect(Date.now() - started).toBeLessThan(2_500);

    await cluster.restart('users');
    const profile = await waitFor(
      async () => {
        const answer = await call(cluster.url('users'), 'GET', '/v1/users/frank');
        return answer.status === 200 ? answer.body : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 100, what: "frank's profile in users" },
    );
    expect(profile).toMatchObject({ handle: 'frank', displayName: 'Frank' });
  });
});
