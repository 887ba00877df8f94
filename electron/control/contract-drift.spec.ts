/**
 * The contract (electron/api) copies shapes it may not import: the service names, the kit's fault
 * and breaker-settings schemas, the loadgen's settings, what auth's admin routes answer
 * (runtime/auth-admin.ts). These checks fail when a copy drifts.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import * as runtimeAuth from '../../sample-cluster/runtime/auth-admin.ts';
import * as contractAuth from '../api/auth-commands.ts';
import { SERVICE_NAMES as CLUSTER_SERVICES } from '../../sample-cluster/cluster.ts';
import {
  breakerSettingsSchema as kitBreakerSettings,
  DEFAULT_BREAKER_SETTINGS,
} from '../../sample-cluster/kit/breaker.ts';
import { faultSpecSchema as kitFaultSpec } from '../../sample-cluster/kit/faults.ts';
import { DEFAULT_SETTINGS as LOADGEN_DEFAULTS } from '../../sample-cluster/services/loadgen/settings.ts';
import { COMMANDS } from '../api/commands.ts';
import { SERVICE_NAMES, breakerSettingsSchema, faultSpecSchema, loadSettingsSchema } from '../api/schemas.ts';
import { RUNTIME_KINDS as RUNTIME_RUNTIMES } from '../../sample-cluster/runtime/types.ts';
import { RUNTIME_KINDS } from '../api/schemas.ts';

const FAULTS = [
  { kind: 'latency', latencyMs: 200, jitterMs: 50, route: '/v1/x', probability: 0.5, durationMs: 1000 },
  { kind: 'latency', latencyMs: 200 },
  { kind: 'error', status: 500, caller: 'gateway', method: 'GET' },
  { kind: 'error' },
  { kind: 'abort', probability: 0.1 },
  { kind: 'hang', maxMs: 5000 },
  { kind: 'bandwidth', bytesPerSecond: 1024 },
  { kind: 'latency', latencyMs: -1 },
  { kind: 'error', status: 200 },
  { kind: 'bandwidth', bytesPerSecond: 1 },
  { kind: 'abort', sneaky: true },
  { kind: 'explode' },
  { kind: 'latency', latencyMs: 5, caller: 'Not A Service' },
];

interface ObjectJson {
  properties: Record<string, unknown>;
}

/**
 * The contract's copy of a shape auth answers with: every field both declare has the same JSON
 * Schema; besides those the contract has exactly `added` (what the control plane works out) and
 * leaves out exactly `dropped`.
 */
function expectMirror(
  contract: z.ZodType,
  runtime: z.ZodType,
  { added = [], dropped = [] }: { added?: string[]; dropped?: string[] } = {},
): void {
  const ours = (z.toJSONSchema(contract) as unknown as ObjectJson).properties;
  const theirs = (z.toJSONSchema(runtime) as unknown as ObjectJson).properties;
  const only = (a: object, b: object) =>
    Object.keys(a)
      .filter((k) => !(k in b))
      .sort();
  expect(only(ours, theirs)).toEqual([...added].sort());
  expect(only(theirs, ours)).toEqual([...dropped].sort());
  for (const key of Object.keys(ours).filter((k) => k in theirs)) expect(ours[key], key).toEqual(theirs[key]);
}

describe('the contract matches what it mirrors', () => {
  it('names the same services and runtimes', () => {
    expect([...SERVICE_NAMES]).toEqual([...CLUSTER_SERVICES]);
    expect([...RUNTIME_KINDS]).toEqual([...RUNTIME_RUNTIMES]);
  });

  it.each(FAULTS.map((f) => [JSON.stringify(f), f] as const))(
    'judges fault %s as the kit does',
    (_label, fault) => {
      const ours = faultSpecSchema.safeParse(fault);
      const kit = kitFaultSpec.safeParse(fault);
      expect(ours.success).toBe(kit.success);
      if (ours.success && kit.success) expect(ours.data).toEqual(kit.data);
    },
  );

  it('has the kit’s breaker settings and the loadgen’s settings', () => {
    expect(breakerSettingsSchema.parse(DEFAULT_BREAKER_SETTINGS)).toEqual(
      kitBreakerSettings.parse(DEFAULT_BREAKER_SETTINGS),
    );
    expect(Object.keys(breakerSettingsSchema.shape).sort()).toEqual(
      Object.keys(kitBreakerSettings.shape).sort(),
    );
    expect(loadSettingsSchema.parse(LOADGEN_DEFAULTS)).toEqual(LOADGEN_DEFAULTS);
  });

  it('has the auth modes and the shapes of what auth answers', () => {
    expect([...contractAuth.AUTH_MODES]).toEqual([...runtimeAuth.TRUST_MODES]);
    expectMirror(contractAuth.grantInfoSchema, runtimeAuth.grantSchema);
    expectMirror(contractAuth.tokenInfoSchema, runtimeAuth.tokenSchema);
    expectMirror(contractAuth.authEventInfoSchema, runtimeAuth.authEventSchema);
    expectMirror(contractAuth.certificateInfoSchema, runtimeAuth.certificateSchema, {
      added: ['expiresInSeconds', 'inUse'],
    });
    expectMirror(contractAuth.revocationInfoSchema, runtimeAuth.revocationStatsSchema, {
      added: ['instanceId'],
    });
    expectMirror(contractAuth.instanceTrustInfoSchema, runtimeAuth.trustStatusSchema, {
      added: ['service', 'instanceId'],
      dropped: ['secretKids', 'revokedCertificates'],
    });
  });

  it('gives every command an input that accepts its documented minimum', () => {
    for (const [name, command] of Object.entries(COMMANDS)) {
      expect(name).toMatch(/^[a-z]+\.[a-zA-Z]+$/);
      expect(command.input).toBeDefined();
      expect(command.output).toBeDefined();
    }
  });
});
