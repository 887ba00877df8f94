/**
 * Durability with the cluster in containers: a client posts tweets for 20 s while the tweets and
 * timeline containers are killed (SIGKILL) and started again. Every tweet that got 201 must be
 * readable afterwards and must reach every follower's home timeline (the outbox delivers what the
 * dead timeline missed). A 201 is a promise; nothing here may break it.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { follow, signUpAndLogIn } from './accounts.ts';
import { describeDocker, startDockerCluster, type DockerTestCluster } from './docker-cluster.ts';
import { api, eventually } from './http.ts';

interface Page {
  items: Array<{ id: string }>;
  degraded: boolean;
}

const POSTING_MS = 20_000;
let cluster: DockerTestCluster;
let writer: string;
const followers: string[] = [];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeDocker('durability in containers', () => {
  beforeAll(async () => {
    cluster = await startDockerCluster();
    const tokens = await signUpAndLogIn(cluster.gateway, ['author', 'fan1', 'fan2']);
    writer = tokens.get('author')!;
    for (const fan of ['fan1', 'fan2']) {
      const token = tokens.get(fan)!;
      await follow(cluster.gateway, token, 'author');
      followers.push(token);
    }
  }, 400_000);

  afterAll(async () => {
    await cluster?.stop();
  }, 180_000);

  it('keeps every acknowledged tweet while tweets and timeline are killed and restarted', async () => {
    const g = cluster.gateway;
    const acknowledged: string[] = [];
    const refused = new Map<number, number>();
    let sent = 0;
    const began = Date.now();
    const poster = (async () => {
      while (Date.now() - began < POSTING_MS) {
        sent += 1;
        const res = await api<{ id: string }>(g, 'POST', '/api/tweets', {
          token: writer,
          body: { text: `durable #${sent}` },
        }).catch(() => null);
        if (res?.status === 201) acknowledged.push(res.body.id);
        else refused.set(res?.status ?? 0, (refused.get(res?.status ?? 0) ?? 0) + 1);
        // Under the per-user rate limit: a 429 is not what this test is about.
        await sleep(150);
      }
    })();
    const chaos = (async () => {
      await sleep(3_000);
      await cluster.runtime.kill('tweets');
      await sleep(3_000);
      await cluster.runtime.start('tweets');
      await sleep(2_000);
      await cluster.runtime.kill('timeline');
      await sleep(3_000);
      await cluster.runtime.start('timeline');
    })();
    await Promise.all([poster, chaos]);
    console.log(
      `[docker durability] sent ${sent}, acknowledged ${acknowledged.length}, refused ${JSON.stringify(Object.fromEntries(refused))}`,
    );
    expect(acknowledged.length).toBeGreaterThan(20);

    const mine = await eventually(
      () => api<Page>(g, 'GET', '/api/users/author/tweets?limit=200', { token: writer }),
      (r) => r.status === 200 && acknowledged.every((id) => r.body.items.some((i) => i.id === id)),
      60_000,
      500,
    );
    const readable = new Set(mine.body.items.map((i) => i.id));
    expect(acknowledged.filter((id) => !readable.has(id))).toEqual([]);

    for (const token of followers) {
      const home = await eventually(
        () => api<Page>(g, 'GET', '/api/timeline?limit=200', { token }),
        (r) =>
          r.status === 200 &&
          !r.body.degraded &&
          acknowledged.every((id) => r.body.items.some((i) => i.id === id)),
        90_000,
        500,
      );
      const delivered = new Set(home.body.items.map((i) => i.id));
      expect(acknowledged.filter((id) => !delivered.has(id))).toEqual([]);
    }
  }, 300_000);
});
