import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

/**
 * Test helpers shared by every service's tests: a valid environment for startService and free
 * loopback ports. Real servers, real ports; nothing here fakes a dependency.
 */

/** A port that was free a moment ago (the kernel may hand it out again, so use it at once). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close((error) => (error ? reject(error) : resolve(port)));
    });
  });
}

/**
 * A complete, valid environment for `startService(definition, env)`: a random admin token, a fresh
 * temporary DATA_DIR (removed after the test file), loopback host, port 0. Services that others must reach need a real
 * ADVERTISE_ADDRESS; pick one with freePort() and pass PORT and ADVERTISE_ADDRESS in overrides.
 * LOG_LEVEL is "silent" unless TEST_LOG_LEVEL says otherwise.
 */
const tempDirs: string[] = [];

// Registered while the importing test file is collected, so each file removes what it made.
afterAll(() => {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A temporary directory, removed after the test file that made it has run. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `chaoscope-${prefix}-`));
  tempDirs.push(dir);
  return dir;
}

export function testEnv(
  service: string,
  overrides: Record<string, string | undefined> = {},
): NodeJS.ProcessEnv {
  const env: Record<string, string | undefined> = {
    CHAOSCOPE_CLUSTER_ID: 'test-cluster',
    CHAOSCOPE_SERVICE: service,
    CHAOSCOPE_INSTANCE_ID: `${service}-${randomUUID().slice(0, 8)}`,
    HOST: '127.0.0.1',
    PORT: '0',
    ADVERTISE_ADDRESS: '127.0.0.1:1',
    DATA_DIR: overrides.DATA_DIR ?? tempDir(service),
    REGISTRY_URL: 'http://127.0.0.1:1',
    ADMIN_TOKEN: randomBytes(24).toString('base64url'),
    DISCOVERY: 'registry',
    PUBLIC_URL: 'http://127.0.0.1:8080',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...overrides,
  };
  for (const [key, value] of Object.entries(env)) if (value === undefined) delete env[key];
  return env;
}

/** Poll until `check` returns a truthy value (which is returned) or the time runs out. */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  options: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + (options.timeoutMs ?? 5_000);
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const reason = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out waiting for ${options.what ?? 'a condition'}${reason}`);
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 25));
  }
}
