import { describe, expect, it } from 'vitest';
import type { ClusterStatus } from '../../../sample-cluster/runtime/types.ts';
import { changes, painter, statusText } from './output.ts';

const status: ClusterStatus = {
  clusterId: 'abc',
  runtime: 'process',
  createdAt: '2026-11-27T10:00:00.000Z',
  gateway: 'http://127.0.0.1:8080',
  logs: '/home/u/.local/share/chaoscope/process-cluster/logs',
  services: [
    {
      name: 'registry',
      instances: [
        { id: 'registry-1', state: 'running', health: 'healthy', address: '127.0.0.1:40001', pid: 101 },
      ],
    },
    {
      name: 'timeline',
      instances: [
        {
          id: 'timeline-1',
          state: 'killed',
          health: 'unknown',
          address: '127.0.0.1:40002',
          pid: 102,
          signal: 'SIGKILL',
        },
      ],
    },
  ],
};

describe('human output', () => {
  it('aligns the status table and carries no colour codes when stdout is not a terminal', () => {
    const text = statusText(status, painter({ write: () => true, isTTY: false }, {}));
    expect(text).not.toContain('\u001b[');
    const lines = text.split('\n');
    expect(lines[0]).toBe('cluster abc (process runtime, since 2026-11-27T10:00:00.000Z): 1 of 2 healthy');
    const header = lines.find((l) => l.startsWith('SERVICE'))!;
    const rows = lines.filter((l) => l.startsWith('registry') || l.startsWith('timeline'));
    for (const column of ['STATE', 'HEALTH', 'ADDRESS', 'PID']) {
      const at = header.indexOf(column);
      for (const row of rows) expect(row[at - 1]).toBe(' ');
      for (const row of rows) expect(row[at]).not.toBe(' ');
    }
    expect(rows[1]).toMatch(/timeline\s+timeline-1\s+killed\s+unknown\s+127\.0\.0\.1:40002\s+102\s+SIGKILL$/);
  });

  it('colours on a terminal, unless NO_COLOR is set', () => {
    expect(statusText(status, painter({ write: () => true, isTTY: true }, {}))).toContain('\u001b[');
    expect(statusText(status, painter({ write: () => true, isTTY: true }, { NO_COLOR: '1' }))).not.toContain(
      '\u001b[',
    );
  });

  it('reports what changed between two looks at the cluster', () => {
    const later: ClusterStatus = {
      ...status,
      services: [
        {
          name: 'registry',
          instances: [
            { id: 'registry-1', state: 'running', health: 'unhealthy', address: '127.0.0.1:40001', pid: 101 },
          ],
        },
        {
          name: 'timeline',
          instances: [
            {
              id: 'timeline-1',
              state: 'killed',
              health: 'unknown',
              address: '127.0.0.1:40002',
              pid: 102,
              signal: 'SIGKILL',
            },
          ],
        },
      ],
    };
    expect(changes(status, later)).toEqual(['registry-1 running/healthy → running/unhealthy']);
    expect(changes(status, status)).toEqual([]);
  });
});
