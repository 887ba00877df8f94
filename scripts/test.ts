/**
 * `npm test`: every tier, then one closing line `N passed, N failed, N skipped` so that a run that
 * executed nothing can never pass for a green one. Tiers a machine cannot run say so loudly.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

interface VitestJson {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  numTotalTests: number;
  success: boolean;
}

const root = join(import.meta.dirname, '..');
const out = join(root, 'test-results');
mkdirSync(out, { recursive: true });
const report = join(out, 'vitest.json');
rmSync(report, { force: true });

const args = [
  'vitest',
  'run',
  '--reporter=default',
  '--reporter=json',
  `--outputFile.json=${report}`,
  ...process.argv.slice(2),
];
const run = spawnSync('npx', args, { cwd: root, stdio: 'inherit', env: process.env });

let summary: VitestJson | undefined;
try {
  summary = JSON.parse(readFileSync(report, 'utf8')) as VitestJson;
} catch {
  summary = undefined;
}

if (!summary) {
  console.error('\nno test report was written: the test run did not complete');
  console.log('0 passed, 1 failed, 0 skipped');
  process.exit(1);
}
const skipped = summary.numPendingTests + summary.numTodoTests;
const failed = summary.numFailedTests + (summary.numTotalTests === 0 ? 1 : 0);
if (summary.numTotalTests === 0) console.error('\nno test ran: that is a failure, not a pass');
console.log(`\n${summary.numPassedTests} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || run.status !== 0 ? 1 : 0);
