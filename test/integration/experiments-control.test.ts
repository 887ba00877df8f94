/**
 * Experiments through the control plane, as the Experiments view and the CLI use them: a real
 * control plane (in this process, web mode on, its own collector and store) driving a real tweet
 * cluster of processes. `kill-timeline` runs through the API and through `chaoscope experiment run`
 * with the verdict the design predicts; one run at a time; an abort (API, and Ctrl+C in the CLI)
 * leaves no fault active; a broken definition is refused with its problems placed at their lines.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExperimentProgressInfo } from '../../electron/api/experiment-commands.ts';
import type { ControlPlane } from '../../electron/control/control-plane.ts';
import { planeClient, waitFor } from './plane-client.ts';
import { planeHome } from './plane-home.ts';

/** Clear of the other tiers' gateways (18080, 18180, 18280, 18380). */
const GATEWAY_PORT = 18_580;

const lab = planeHome('cs-xp-control-');
const { home } = lab;
const chaoscope = lab.cli;
let plane: ControlPlane;
const { invoke, refused } = planeClient(() => plane);
const eventually = <T>(check: () => Promise<T | null | undefined | false>, what: string, ms = 90_000) =>
  waitFor(check, what, ms);
const progress: ExperimentProgressInfo[] = [];

const finishedEvent = (runId: string) =>
  eventually(
    async () => progress.find((e) => e.type === 'finished' && e.runId === runId),
    `run ${runId} to finish`,
    180_000,
  ) as Promise<Extract<ExperimentProgressInfo, { type: 'finished' }>>;

/** No fault of the engine active, every service running and healthy again. */
async function expectNoChaosLeft(): Promise<void> {
  expect((await invoke('chaos.list', { limit: 10 })).active).toEqual([]);
  await eventually(async () => {
    const status = await invoke('cluster.status');
    return status?.services.every((s) =>
      s.instances.every((i) => i.state === 'running' && i.health === 'healthy'),
    );
  }, 'every service healthy again');
}

/** A library definition that applies a fault and then waits long: something to abort. */
const SLOW_FAULT = `title: Slow tweets, long wait
description: A latency fault on tweets and a long wait, to be aborted.
method:
  - type: fault
    name: slow-tweets
    fault: { type: request, target: { service: tweets }, fault: { kind: latency, latencyMs: 200 } }
  - { type: wait, ms: 120000 }
`;

beforeAll(async () => {
  plane = await lab.open();
  plane.subscribe((batch) => {
    for (const event of batch.events) if (event.topic === 'experiment.progress') progress.push(event.data);
  });
  await invoke('settings.set', { gatewayPort: GATEWAY_PORT, runtime: 'process' });
  await invoke('cluster.up', { runtime: 'process' });
}, 300_000);

afterAll(() => lab.cleanUp(plane), 120_000);

describe('experiments through the control plane', () => {
  it('lists the built-ins and shows a definition as YAML and parsed', async () => {
    const list = await invoke('experiments.list');
    const kill = list.experiments.find((e) => e.name === 'kill-timeline');
    expect(kill).toMatchObject({ origin: 'builtin', title: 'Kill timeline' });
    expect(existsSync(kill!.file)).toBe(true);
    expect(list.libraryDir).toBe(join(home, 'experiments', 'library'));
    const got = await invoke('experiments.get', { name: 'kill-timeline' });
    expect(got.source).toContain('title: Kill timeline');
    expect(got.problems).toEqual([]);
    expect(got.definition).toMatchObject({ title: 'Kill timeline', users: ['reader', 'writer'] });
  });

  it('refuses a broken definition with its problems at their lines, and a built-in name', async () => {
    const broken = `title: Broken
method:
  - type: fault
    fault: { type: container, target: { service: timeline }, change: { action: kill } }
  - type: wait
    ms: -5
`;
    const error = await refused('experiments.save', { name: 'broken', source: broken });
    expect(error.code).toBe('BAD_REQUEST');
    expect(error.details).toEqual([expect.stringMatching(/^line 6:9 method\[1\]\.ms: .*>=0/)]);
    const badFault = broken.replace('ms: -5', 'ms: 5').replace('action: kill', 'action: explode');
    const faultError = await refused('experiments.save', { name: 'broken', source: badFault });
    expect(faultError.details?.[0]).toMatch(/^line 4:\d+ method\[0\]\.fault\.change/);
    const yamlError = await refused('experiments.save', { name: 'broken', source: 'title: x\nmethod: [\n' });
    expect(yamlError.details?.[0]).toMatch(/^line \d+:\d+ /);
    const builtin = await refused('experiments.save', { name: 'kill-timeline', source: SLOW_FAULT });
    expect(builtin.code).toBe('CONFLICT');
    // Nothing was written; running the text directly is refused the same way.
    expect((await invoke('experiments.list')).experiments.map((e) => e.name)).not.toContain('broken');
    expect((await refused('experiments.run', { ref: broken })).code).toBe('BAD_REQUEST');
    expect((await refused('experiments.run', { ref: 'no-such-thing' })).code).toBe('NOT_FOUND');
    const check = await invoke('experiments.validate', { source: broken });
    expect(check).toMatchObject({ ok: false, problems: [{ path: 'method[1].ms', line: 6 }] });
  });

  let apiRunId = '';
  it('runs kill-timeline through the API: the id at once, progress events, verdict passed, one run at a time', async () => {
    const began = Date.now();
    const started = await invoke('experiments.run', { ref: 'kill-timeline' });
    apiRunId = started.runId;
    expect(started).toMatchObject({ title: 'Kill timeline', runId: expect.stringMatching(/^\d{8}-\d{6}-/) });
    expect((await invoke('experiments.list')).running).toBe(started.runId);
    const busy = await refused('experiments.run', { ref: 'kill-timeline' });
    expect(busy.code).toBe('CONFLICT');
    const end = await finishedEvent(started.runId);
    console.log(
      `kill-timeline through the API: ${end.verdict} in ${((Date.now() - began) / 1000).toFixed(1)} s`,
    );
    expect(end.verdict, end.reason).toBe('passed');
    const steps = progress.filter((e) => e.type === 'step' && e.runId === started.runId);
    expect(steps.some((e) => e.type === 'step' && e.step.kind === 'fault' && e.step.status === 'ok')).toBe(
      true,
    );
    const report = await invoke('experiments.report', { runId: started.runId, html: false });
    expect(report.summary).toMatchObject({ state: 'finished', verdict: 'passed' });
    expect(report.markdown).toContain('Kill timeline');
    expect(report.journal.markers.length).toBe(1);
    expect(existsSync(report.summary.reports.html!)).toBe(true);
    const runs = await invoke('experiments.runs');
    expect(runs.running).toBeNull();
    expect(runs.runs[0]).toMatchObject({ runId: started.runId, verdict: 'passed' });
    await expectNoChaosLeft();
  }, 240_000);

  it('serves the HTML report in web mode behind the token, with a policy that allows no script', async () => {
    const url = `${plane.url}/reports/${apiRunId}/report.html`;
    const denied = await request(url);
    await denied.body.text();
    expect(denied.statusCode).toBe(401);
    const page = await request(url, { headers: { authorization: `Bearer ${plane.token}` } });
    const html = await page.body.text();
    expect(page.statusCode).toBe(200);
    expect(html).toContain('<svg');
    expect(String(page.headers['content-security-policy'])).toMatch(
      /^default-src 'none'; style-src 'unsafe-inline'/,
    );
    const unknown = await request(`${plane.url}/reports/20000101-000000-abcdef/report.html`, {
      headers: { authorization: `Bearer ${plane.token}` },
    });
    await unknown.body.text();
    expect(unknown.statusCode).toBe(404);
  });

  it('`experiment run kill-timeline --json` waits for the end: verdict passed, the report exists, exit 0', async () => {
    const began = Date.now();
    const run = await chaoscope(['experiment', 'run', 'kill-timeline', '--json']).done;
    console.log(`kill-timeline through the CLI: ${((Date.now() - began) / 1000).toFixed(1)} s`);
    expect(run.code, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout) as { verdict: string; report: string; runId: string };
    expect(out.verdict).toBe('passed');
    expect(existsSync(out.report)).toBe(true);
    expect(readFileSync(out.report, 'utf8')).toContain('Kill timeline');
    // Step progress went to stderr.
    expect(run.stderr).toMatch(/✓ method\s+.*kill/);
    const list = await chaoscope(['experiment', 'list', '--json']).done;
    expect((JSON.parse(list.stdout) as { experiments: unknown[] }).experiments.length).toBeGreaterThanOrEqual(
      7,
    );
    const report = await chaoscope(['experiment', 'report', out.runId, '--json']).done;
    expect(report.code).toBe(0);
    expect((JSON.parse(report.stdout) as { summary: { verdict: string } }).summary.verdict).toBe('passed');
    await expectNoChaosLeft();
  }, 240_000);

  it('aborting mid-run through the API rolls the fault back: verdict aborted, no fault active', async () => {
    await invoke('experiments.save', { name: 'slow-then-wait', source: SLOW_FAULT });
    const started = await invoke('experiments.run', { ref: 'slow-then-wait' });
    await eventually(
      async () => (await invoke('chaos.list', { limit: 10 })).active.length === 1,
      'the fault to be active',
    );
    expect(await invoke('experiments.abort', { runId: started.runId })).toEqual({
      runId: started.runId,
      aborting: true,
    });
    const end = await finishedEvent(started.runId);
    expect(end.verdict).toBe('aborted');
    expect(end.reason).toMatch(/stopped by the operator/);
    const report = await invoke('experiments.report', { runId: started.runId });
    expect(report.journal.steps.some((s) => s.kind === 'rollback-fault' && s.status === 'ok')).toBe(true);
    await expectNoChaosLeft();
    // Over: aborting again says so.
    expect((await invoke('experiments.abort', { runId: started.runId })).aborting).toBe(false);
  }, 120_000);

  it('Ctrl+C during `experiment run` aborts the run, waits for its rollbacks, and exits 130', async () => {
    const run = chaoscope(['experiment', 'run', 'slow-then-wait', '--json']);
    await eventually(
      // The fault step's line, e.g. "+0.1s ✓ method  latency 200±0 ms in tweets (12 ms)".
      async () => {
        if (!/✓ method\s+latency/.test(run.stderr())) throw new Error(`stderr so far: ${run.stderr()}`);
        return true;
      },
      'the fault step on stderr',
      90_000,
    );
    expect((await invoke('chaos.list', { limit: 10 })).active.length).toBe(1);
    run.child.kill('SIGINT');
    const done = await run.done;
    expect(done.code, done.stderr).toBe(130);
    expect(JSON.parse(done.stdout)).toMatchObject({ verdict: 'aborted' });
    await expectNoChaosLeft();
  }, 120_000);
});
