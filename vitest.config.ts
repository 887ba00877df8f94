import { defineConfig } from 'vitest/config';

// One Vitest project per tier; `npm test` (scripts/test.ts) runs them all and prints the summary.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['{sample-cluster,telemetry,electron}/**/*.spec.ts', 'test/unit/**/*.spec.ts'],
          environment: 'node',
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // The cluster is one set of real processes: files run one after another.
          fileParallelism: false,
        },
      },
    ],
  },
});
