/**
 * Every built-in scenario on Docker, as the user runs it: a real control plane (its own collector
 * and store, the chaos engine with auth's admin API) starts the whole tweet cluster in containers
 * and runs each scenario through `experiments.run`. Each verdict is what the design predicts;
 * partition is a real network cut here (not the process runtime's abort stand-in); after every
 * run no fault is active and every container is healthy again. (Each scenario's broken variant
 * fails on the process runtime: experiments-scenarios.test.ts.)
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ExperimentProgressInfo } from '../../electron/api/experiment-commands.ts';
import type { RunJournal } from '../../electron/api/experiments.ts';
import { startControlPlane, type ControlPlane } from '../../electron/control/control-plane.ts';
import { describeDocker } from './docker-cluster.ts';
import { planeClient, waitFor } from './plane-client.ts';

/** Clear of the other tiers' gateways. */
const GATEWAY_PORT = 18_780;

let home: string;
let plane: ControlPlane;
const { invoke } = planeClient(() => plane);
const progress: ExperimentProgressInfo[] = [];

type Finished = Extract<ExperimentProgressInfo, { type: 'finished' }>;

/** Runs a scenario (a built-in name or a definition's text) to its end; the finished event and journal. */
async function run(ref: string): Promise<{ finished: Finished; journal: RunJournal }> {
  const { runId } = await invoke('experiments.run', { ref });
  const finished = (await waitFor(
    async () => progress.find((e) => e.type === 'finished' && e.runId === runId),
    `run ${runId} (${ref.slice(0, 40)}) to finish`,
    240_000,
    500,
  )) as Finished;
  const report = await invoke('experiments.report', { runId });
  return { finished, journal: report.journal };
}

/** No engine fault active, every container running and healthy, no instance partitioned or paused. */
async function expectNothingLeft(): Promise<void> {
  expect((await invoke('chaos.list', { limit: 10 })).active).toEqual([]);
  await waitFor(
    async () => {
      const status = await invoke('cluster.status');
      return status.services.every((s) =>
        s.instances.every(
          (i) => i.state === 'running' && i.health === 'healthy' && !i.partitioned && !i.paused,
        ),
      );
    },
    'every container running and healthy again',
    120_000,
    1_000,
  );
}

/** Until the gateway's last 5 s of telemetry hold no error, as a steady state demands. */
async function gatewayQuiet(): Promise<void> {
  await waitFor(
    async () => {
      const to = Date.now() - 1_000;
      const { series } = await invoke('telemetry.red', {
        service: 'gateway',
        from: to - 5_000,
        to,
        stepMs: 5_000,
      });
      return series.every((r) => r.points.every((p) => p.errors === 0));
    },
    'five seconds without a gateway error',
    60_000,
    1_000,
  );
}

const stepTitled = (journal: RunJournal, prefix: string) =>
  journal.steps.find((s) => s.title.startsWith(prefix));

describeDocker('built-in scenarios on Docker', () => {
  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'cs-docker-scenarios-'));
    plane = await startControlPlane({ home, env: { ...process.env, CHAOSCOPE_HOME: home } });
    plane.subscribe((batch) => {
      for (const event of batch.events) if (event.topic === 'experiment.progress') progress.push(event.data);
    });
    await invoke('cluster.up', { runtime: 'docker', loadgen: false, gatewayPort: GATEWAY_PORT });
  }, 400_000);

  afterAll(async () => {
    await plane?.invoke('cluster.down', { volumes: true });
    await plane?.close();
    if (home) rmSync(home, { recursive: true, force: true });
  }, 180_000);

  it('kill timeline: the home timeline falls back, the container is started again', async () => {
    const { finished, journal } = await run('kill-timeline');
    expect(finished.verdict, finished.reason ?? '').toBe('passed');
    expect(journal.runtime).toBe('docker');
    expect(stepTitled(journal, 'home timeline falls back')?.probe?.detail).toMatch(/^200 degraded/);
    expect(journal.markers[0]?.rolledBackAt).not.toBeNull();
    await expectNothingLeft();
  }, 300_000);

  it('partition users: a real network cut; profiles degrade, tweets still post', async () => {
    const { finished, journal } = await run('partition-users');
    expect(finished.verdict, finished.reason ?? '').toBe('passed');
    const fault = journal.steps.find((s) => s.kind === 'fault');
    expect(fault?.title).toContain('partition');
    expect(fault?.note ?? '').not.toContain('no network to partition');
    expect(stepTitled(journal, 'tweets still post')?.status).toBe('ok');
    await expectNothingLeft();
  }, 300_000);

  it('latency on tweets: the gateway:tweets breaker opens, then recovers', async () => {
    const { finished, journal } = await run('latency-tweets');
    expect(finished.verdict, finished.reason ?? '').toBe('passed');
    const states = journal.samples.filter((s) => s.series.startsWith('breaker')).map((s) => s.value);
    expect(states).toContain(2);
    await expectNothingLeft();
  }, 300_000);

  it("revoke a user's tokens: 401 for that user (time measured), others unaffected", async () => {
    const { finished, journal } = await run('revoke-user-tokens');
    const refused = stepTitled(journal, 'victim refused');
    console.log(
      `[docker] revocation → 401 after ${refused?.heldAfterMs ?? '-'} ms (${refused?.probe?.detail ?? ''})`,
    );
    expect(finished.verdict, finished.reason ?? '').toBe('passed');
    expect(refused?.heldAfterMs).toBeTypeOf('number');
    await expectNothingLeft();
  }, 300_000);

  it('rotate signing keys: no user notices', async () => {
    // Its steady state allows no gateway error in the last 5 s: let the previous scenario's
    // aftermath (a revoked user's stream, retried calls) leave that window first.
    await gatewayQuiet();
    const { finished } = await run('rotate-signing-keys');
    expect(finished.verdict, finished.reason ?? '').toBe('passed');
    await expectNothingLeft();
  }, 300_000);

  it("expire one service's certificate: only the edges into it fail, and it is renewed after", async () => {
    const { finished, journal } = await run('expire-certificate');
    expect(finished.verdict, finished.reason ?? '').toBe('passed');
    expect(journal.markers.every((m) => m.rolledBackAt !== null)).toBe(true);
    await expectNothingLeft();
    const auth = await invoke('auth.status');
    expect(auth.mode).toBe('mtls');
  }, 300_000);

  it('kill the registry: cached discovery keeps traffic flowing', async () => {
    const { finished } = await run('kill-registry');
    expect(finished.verdict, finished.reason ?? '').toBe('passed');
    await expectNothingLeft();
    // The HTML report of a Docker run is as self-contained as on processes.
    const runs = await invoke('experiments.runs', { limit: 1 });
    const html = readFileSync(runs.runs[0]!.reports.html!, 'utf8');
    expect(html).toContain('<svg');
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
  }, 300_000);
});
