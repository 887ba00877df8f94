import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, expect, it } from 'vitest';
import { TelemetryStore } from './store.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

it('keeps every acknowledged span when the process is killed with SIGKILL mid-flood', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'chaoscope-crash-'));
  dirs.push(dir);
  const path = join(dir, 'telemetry.duckdb');
  const child = spawn(process.execPath, [join(import.meta.dirname, 'fixtures', 'crash-writer.ts'), path], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<NodeJS.Signals | null>((resolve) =>
    child.once('exit', (_code, signal) => resolve(signal)),
  );
  const acked = new Set<number>();
  const lines = createInterface({ input: child.stdout });
  // Lines already in the pipe when the kill lands are acknowledgements too: read to the end.
  const drained = new Promise<void>((resolve) => lines.once('close', resolve));
  const killed = new Promise<void>((resolve, reject) => {
    child.once('exit', () => reject(new Error(`writer exited before the kill (${acked.size} acks)`)));
    lines.on('line', (line) => {
      const m = /^ack (\d+)$/.exec(line);
      if (m) acked.add(Number(m[1]));
      // Enough acks to be well into the flood (many commits, batches in flight), then kill.
      if (acked.size === 400) {
        child.kill('SIGKILL');
        resolve();
      }
    });
  });
  await killed;
  expect(await exited).toBe('SIGKILL');
  await drained;

  const store = await TelemetryStore.open({ path });
  try {
    const rows = await store
      .reader()
      .rows('SELECT trace_id, count(DISTINCT span_id) AS n FROM spans GROUP BY trace_id');
    const stored = new Map(rows.map((r) => [Number(r.trace_id), Number(r.n)]));
    const missing = [...acked].filter((trace) => stored.get(trace) !== 64);
    expect(missing).toEqual([]);
    expect(acked.size).toBeGreaterThanOrEqual(400);
    // Every stored batch is whole: a transaction is all or nothing, even when cut by the kill.
    expect([...stored.values()].every((n) => n === 64)).toBe(true);
  } finally {
    await store.close();
  }
}, 60_000);
