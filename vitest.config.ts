import { defineConfig } from 'vitest/config';

// One Vitest project per tier; `npm test` (scripts/test.ts) runs them all and prints the summary.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          // Tiers run one after another: cluster-starting tiers must not share the two cores or port 18080.
          sequence: { groupOrder: 0 },
          include: [
            '{sample-cluster,telemetry,electron,renderer}/**/*.spec.ts',
            'test/{unit,electron}/**/*.spec.ts',
          ],
          environment: 'node',
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          sequence: { groupOrder: 1 },
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // The cluster is one set of real processes: files run one after another.
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'browser',
          sequence: { groupOrder: 2 },
          include: ['test/browser/**/*.test.ts'],
          environment: 'node',
          testTimeout: 180_000,
          hookTimeout: 300_000,
          // Each file runs a control plane, a cluster and Chromium: one at a time on a small machine.
          fileParallelism: false,
        },
      },
      {
        test: {
          // The real Electron window (playwright-core's _electron); skipped, saying why, without a binary.
          name: 'desktop',
          sequence: { groupOrder: 3 },
          include: ['test/electron/**/*.test.ts'],
          environment: 'node',
          testTimeout: 180_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
