/**
 * Web mode as a browser or an attacker's page would meet it: a real control plane (its real
 * collector, store and web server) in a throwaway home, driving the stand-in cluster of the runtime
 * tests (three tiny real processes) so that events flow without starting the tweet cluster.
 */
import { mkdtempSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventBatch } from '../../electron/api/events.ts';
import { startControlPlane, type ControlPlane } from '../../electron/control/control-plane.ts';
import { readControlState } from '../../electron/control/state-file.ts';
import {
  fakeCluster,
  killAll,
  recordedProcesses,
} from '../../sample-cluster/runtime/process/fixtures/fake-cluster.ts';
import { distinctFreePorts } from '../../sample-cluster/runtime/process/ports.ts';
import { ProcessRuntime } from '../../sample-cluster/runtime/process/runtime.ts';
import { processClusterPaths } from '../../sample-cluster/runtime/paths.ts';
import { eventually } from './http.ts';

let home: string;
let dist: string;
let plane: ControlPlane;
let base: string;
let port: number;

const fakeRuntime =
  (gatewayPort: number) => (_kind: unknown, options: { env?: NodeJS.ProcessEnv; home?: string }) =>
    new ProcessRuntime({
      ...(options.env ? { env: options.env } : {}),
      ...(options.home ? { home: options.home } : {}),
      specs: fakeCluster({ gatewayPort }),
      stopTimeoutMs: 5_000,
    });

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'cs-web-'));
  dist = join(home, 'dist-not-built');
  const [gatewayPort] = (await distinctFreePorts(1)) as [number];
  plane = await startControlPlane({
    home,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' },
    webPort: 0,
    distDir: dist,
    createRuntime: fakeRuntime(gatewayPort),
  });
  base = plane.url!;
  port = Number(new URL(base).port);
});

afterAll(async () => {
  await plane?.close({ stopCluster: true });
  killAll(recordedProcesses(processClusterPaths(home).stateFile));
  rmSync(home, { recursive: true, force: true });
});

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: unknown;
}

async function call(
  method: 'GET' | 'POST',
  path: string,
  options: { headers?: Record<string, string>; body?: string; token?: string | null } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== null) headers.authorization ??= `Bearer ${options.token ?? plane.token}`;
  const response = await request(`${base}${path}`, {
    method,
    headers,
    ...(options.body !== undefined ? { body: options.body } : {}),
  });
  const text = await response.body.text();
  let json: unknown = undefined;
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: response.statusCode, headers: response.headers, text, json };
}

const invoke = (command: string, input: unknown, token?: string | null) =>
  call('POST', `/api/v1/invoke/${command}`, {
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(input),
    ...(token !== undefined ? { token } : {}),
  });

describe('web mode', () => {
  it('listens on loopback only', async () => {
    expect(new URL(base).hostname).toBe('127.0.0.1');
    const external = Object.values(networkInterfaces())
      .flat()
      .find((i) => i && i.family === 'IPv4' && !i.internal);
    if (external) {
      // The same port on the machine's other address: nothing answers there.
      await expect(
        request(`http://${external.address}:${port}/`, { signal: AbortSignal.timeout(5_000) }),
      ).rejects.toThrow();
    }
  });

  it('answers no route without the token, nor with a wrong one', async () => {
    const routes: [method: 'GET' | 'POST', path: string][] = [
      ['GET', '/'],
      ['GET', '/index.html'],
      ['GET', '/assets/app.js'],
      ['GET', '/api/v1/events'],
      ['GET', '/api/v1/nothing'],
      ['POST', '/api/v1/invoke/system.info'],
      ['POST', '/api/v1/invoke/cluster.down'],
    ];
    for (const [method, path] of routes) {
      for (const token of [null, 'wrong-token', `${plane.token}x`]) {
        const answer = await call(method, path, {
          token,
          headers: { 'content-type': 'application/json' },
          ...(method === 'POST' ? { body: '{}' } : {}),
        });
        expect(answer.status, `${method} ${path} with ${String(token)}`).toBe(401);
        expect(answer.json).toMatchObject({ ok: false, error: { code: 'UNAUTHORIZED' } });
        expect(answer.text).not.toContain(plane.token);
      }
    }
  });

  it('refuses a foreign Host (DNS rebinding) and a foreign Origin, even with the token', async () => {
    for (const host of [
      'evil.example:80',
      `evil.example:${port}`,
      `127.0.0.2:${port}`,
      `localhost:${port + 1}`,
    ]) {
      const answer = await call('POST', '/api/v1/invoke/system.info', {
        headers: { host, 'content-type': 'application/json' },
        body: '{}',
      });
      expect(answer.status, host).toBe(403);
      expect(answer.json).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    }
    for (const origin of [
      'http://evil.example',
      `http://127.0.0.1:${port + 1}`,
      'null',
      `https://127.0.0.1:${port}`,
    ]) {
      const answer = await call('POST', '/api/v1/invoke/system.info', {
        headers: { origin, 'content-type': 'application/json' },
        body: '{}',
      });
      expect(answer.status, origin).toBe(403);
    }
    for (const [host, origin] of [
      [`127.0.0.1:${port}`, `http://127.0.0.1:${port}`],
      [`localhost:${port}`, `http://localhost:${port}`],
    ]) {
      const answer = await call('POST', '/api/v1/invoke/system.info', {
        headers: { host: host!, origin: origin!, 'content-type': 'application/json' },
        body: '{}',
      });
      expect(answer.status).toBe(200);
    }
  });

  it('turns ?token= into an HttpOnly SameSite=Strict cookie and takes the token out of the URL', async () => {
    const first = await call('GET', `/?token=${encodeURIComponent(plane.token)}&view=traces`, {
      token: null,
    });
    expect(first.status).toBe(303);
    expect(first.headers.location).toBe('/?view=traces');
    const cookie = String(first.headers['set-cookie']);
    expect(cookie).toMatch(/^chaoscope_token=[^;]+; HttpOnly; SameSite=Strict; Path=\//);
    const page = await call('GET', '/?view=traces', {
      token: null,
      headers: { cookie: cookie.split(';')[0]! },
    });
    expect(page.status).toBe(200);
    const wrong = await call('GET', '/?token=nope', { token: null });
    expect(wrong.status).toBe(401);
    expect(wrong.headers['set-cookie']).toBeUndefined();
  });

  it('serves HTML under a strict CSP: a page saying how to build the dashboard, then the dashboard', async () => {
    const notBuilt = await call('GET', '/');
    expect(notBuilt.status).toBe(200);
    expect(notBuilt.text).toContain('the dashboard is not built');
    expect(notBuilt.text).toContain('npm run build:renderer');
    expect(notBuilt.text).not.toMatch(/<script/i);
    const csp = String(notBuilt.headers['content-security-policy']);
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    expect(csp).toContain("frame-ancestors 'none'");

    mkdirSync(join(dist, 'assets'), { recursive: true });
    writeFileSync(
      join(dist, 'index.html'),
      '<!doctype html><script type="module" src="./assets/app.js"></script>',
    );
    writeFileSync(join(dist, 'assets', 'app.js'), 'console.log("dashboard")');
    const index = await call('GET', '/');
    expect(index.text).toContain('./assets/app.js');
    expect(String(index.headers['content-security-policy'])).toContain("default-src 'self'");
    const script = await call('GET', '/assets/app.js');
    expect(script.status).toBe(200);
    expect(String(script.headers['content-type'])).toContain('text/javascript');
    // A client-side route gets the app; a path out of the directory gets nothing.
    expect((await call('GET', '/traces/abc')).text).toContain('./assets/app.js');
    expect((await call('GET', '/..%2f..%2fsettings.json')).status).toBe(404);
    expect((await call('GET', '/assets/missing.js')).status).toBe(404);
  });

  it('rejects malformed payloads with the contract’s error shape', async () => {
    const bad = await call('POST', '/api/v1/invoke/system.info', {
      headers: { 'content-type': 'application/json' },
      body: '{"unclosed":',
    });
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({
      ok: false,
      error: { code: 'BAD_REQUEST', message: expect.stringMatching(/not valid JSON/) },
    });

    const wrongShape = await invoke('service.kill', { service: 'nosuch', signal: 42 });
    expect(wrongShape.status).toBe(400);
    expect(wrongShape.json).toMatchObject({
      ok: false,
      error: {
        code: 'BAD_REQUEST',
        message: 'invalid input for service.kill',
        details: expect.arrayContaining([
          expect.stringMatching(/^service: unknown service "nosuch"/),
          expect.stringMatching(/^signal: /),
        ]),
      },
    });
    const extra = await invoke('faults.inject', {
      service: 'users',
      faults: [{ kind: 'latency', latencyMs: -5, sneaky: true }],
    });
    expect(extra.status).toBe(400);

    const unknown = await invoke('cluster.explode', {});
    expect(unknown.status).toBe(404);
    expect(unknown.json).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });

    const form = await call('POST', '/api/v1/invoke/system.info', {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'a=b',
    });
    expect(form.status).toBe(415);
    expect(form.json).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });

    const huge = await call('POST', '/api/v1/invoke/system.info', {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ padding: 'x'.repeat(2 * 1024 * 1024) }),
    });
    expect(huge.status).toBe(413);
    expect(huge.json).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });

    const noCluster = await invoke('cluster.status', {});
    expect(noCluster.status).toBe(409);
    expect(noCluster.json).toMatchObject({ ok: false, error: { code: 'NO_CLUSTER' } });
  });

  it('needs the token and the right Host/Origin for the event stream too', async () => {
    const attempt = (headers: Record<string, string>) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(`${base.replace('http', 'ws')}/api/v1/events`, { headers });
        ws.on('unexpected-response', (_req, res) => {
          resolve(res.statusCode ?? 0);
          ws.terminate();
        });
        ws.on('open', () => {
          resolve(101);
          ws.close();
        });
        ws.on('error', () => undefined);
      });
    expect(await attempt({})).toBe(401);
    expect(await attempt({ authorization: 'Bearer wrong' })).toBe(401);
    expect(await attempt({ authorization: `Bearer ${plane.token}`, origin: 'http://evil.example' })).toBe(
      403,
    );
    expect(await attempt({ authorization: `Bearer ${plane.token}`, host: 'evil.example' })).toBe(403);
    expect(await attempt({ authorization: `Bearer ${plane.token}` })).toBe(101);
    expect(await attempt({ cookie: `chaoscope_token=${plane.token}`, origin: base })).toBe(101);
  });

  it('delivers events in numbered batches while the cluster starts, and the state to a newcomer', async () => {
    const batches: EventBatch[] = [];
    const ws = new WebSocket(`${base.replace('http', 'ws')}/api/v1/events`, {
      headers: { authorization: `Bearer ${plane.token}` },
    });
    ws.on('message', (data: WebSocket.RawData) =>
      batches.push(JSON.parse((data as Buffer).toString('utf8')) as EventBatch),
    );
    await new Promise((resolve) => ws.once('open', resolve));
    try {
      const up = await invoke('cluster.up', {});
      expect(up.status).toBe(200);
      const started = (up.json as { value: { clusterId: string; services: { name: string }[] } }).value;
      expect(started.services.map((s) => s.name)).toEqual(['registry', 'users', 'gateway']);

      const events = () => batches.flatMap((b) => b.events);
      await eventually(
        async () => events().filter((e) => e.topic === 'cluster.progress').length,
        (n) => n >= 6,
      );
      const progress = events().filter((e) => e.topic === 'cluster.progress');
      expect(progress.map((e) => (e.data as { type: string }).type)).toEqual(
        expect.arrayContaining(['service-starting', 'service-healthy']),
      );
      // Batched: fewer messages than events, numbered from 1 without gaps.
      expect(batches.length).toBeLessThan(events().length);
      expect(batches.map((b) => b.seq)).toEqual(batches.map((_, i) => i + 1));
      expect(batches.every((b) => typeof b.at === 'string' && b.dropped === 0)).toBe(true);

      // A kill shows up as a state change of that instance.
      await invoke('service.kill', { service: 'users' });
      await eventually(
        async () =>
          events().some(
            (e) =>
              e.topic === 'service.state' &&
              (e.data as { instanceId: string }).instanceId === 'users-1' &&
              (e.data as { to: { state: string } }).to.state === 'killed',
          ),
        Boolean,
      );
      const change = events().find(
        (e) =>
          e.topic === 'service.state' &&
          (e.data as { instanceId: string }).instanceId === 'users-1' &&
          (e.data as { to: { state: string } }).to.state === 'killed',
      );
      expect(change?.data).toMatchObject({ from: { state: 'running' }, to: { state: 'killed' } });

      // A second client first gets the current state: the cluster as it is now.
      const late: EventBatch[] = [];
      const ws2 = new WebSocket(`${base.replace('http', 'ws')}/api/v1/events`, {
        headers: { authorization: `Bearer ${plane.token}` },
      });
      ws2.on('message', (data: WebSocket.RawData) =>
        late.push(JSON.parse((data as Buffer).toString('utf8')) as EventBatch),
      );
      await eventually(
        async () => late.length,
        (n) => n > 0,
      );
      ws2.close();
      expect(late[0]!.seq).toBe(1);
      const snapshot = late[0]!.events.find((e) => e.topic === 'cluster.status');
      expect(snapshot?.data).toMatchObject({ status: { clusterId: started.clusterId } });
    } finally {
      ws.close();
    }
  }, 120_000);
});

describe('pause', () => {
  it('freezes a service and thaws it when its time is up (8 s)', async () => {
    await invoke('service.start', { service: 'users' });
    const paused = await invoke('service.pause', { service: 'users', durationMs: 8_000 });
    expect(paused.status).toBe(200);
    const value = (
      paused.json as { value: { service: { instances: { address: string; pausedUntil?: string }[] } } }
    ).value;
    const users = value.service.instances[0]!;
    expect(users.pausedUntil).toBeTruthy();
    const health = () =>
      request(`http://${users.address}/healthz`, { signal: AbortSignal.timeout(500) }).then(
        async (r) => (await r.body.text(), r.statusCode),
        () => 0,
      );
    expect(await health()).toBe(0);
    expect(await eventually(health, (s) => s === 200, 30_000, 200)).toBe(200);
    const status = await invoke('cluster.status', {});
    const after = (
      status.json as { value: { services: { name: string; instances: { pausedUntil?: string }[] }[] } }
    ).value;
    expect(after.services.find((s) => s.name === 'users')!.instances[0]!.pausedUntil).toBeUndefined();
  }, 120_000);
});

describe('the control plane', () => {
  it('runs once per home: its state file is user-only, a second one is refused', async () => {
    const state = await readControlState(plane.paths);
    expect(state).toMatchObject({
      pid: process.pid,
      url: base,
      token: plane.token,
      apiVersion: 1,
      mode: 'serve',
    });
    expect(statSync(plane.paths.stateFile).mode & 0o777).toBe(0o600);
    await expect(startControlPlane({ home, webPort: 0 })).rejects.toMatchObject({
      code: 'CONFLICT',
      message: expect.stringMatching(/already running/),
    });
  });

  it('rejects malformed input on the in-process path (what IPC uses) as well', async () => {
    expect(await plane.invoke('service.pause', { service: 'users', durationMs: 'long' })).toMatchObject({
      ok: false,
      error: { code: 'BAD_REQUEST', details: [expect.stringMatching(/^durationMs: /)] },
    });
    expect(await plane.invoke('settings.set', { gatewayPort: 70000 })).toMatchObject({
      ok: false,
      error: { code: 'BAD_REQUEST' },
    });
    expect(await plane.invoke('__proto__', {})).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
  });

  it('persists settings, validated, in <home>/settings.json', async () => {
    const set = await plane.invoke('settings.set', { theme: 'dark', otlpPort: 4400 });
    expect(set).toMatchObject({
      ok: true,
      value: {
        settings: { theme: 'dark', otlpPort: 4400 },
        appliesOnRestart: [expect.stringMatching(/^otlpPort/)],
      },
    });
    expect(statSync(plane.paths.settingsFile).mode & 0o777).toBe(0o600);
    expect(await plane.invoke('settings.get', {})).toMatchObject({
      ok: true,
      value: { theme: 'dark', runtime: 'auto' },
    });
  });
});
