import { describe, expect, it } from 'vitest';
import { CLUSTER_POLICY, decide, isExemptRoute, isTrustPlaneRoute, scopesFor, scopesOf } from './policy.ts';

describe('the cluster policy', () => {
  it('allows a listed caller on its route and says why it refuses the others', () => {
    expect(decide('tweets', 'POST', '/v1/tweets', 'gateway', null)).toMatchObject({ allowed: true });
    expect(decide('tweets', 'POST', '/v1/tweets', 'timeline', null)).toEqual({
      allowed: false,
      status: 403,
      reason: 'timeline may not call POST /v1/tweets on tweets',
    });
    expect(decide('tweets', 'DELETE', '/v1/tweets', 'gateway', null)).toMatchObject({ allowed: false });
    expect(decide('users', 'GET', '/v1/secret-route', 'gateway', null)).toMatchObject({
      allowed: false,
      reason: expect.stringContaining('no policy rule'),
    });
  });

  it('checks an OAuth token’s scopes against the rule', () => {
    expect(
      decide('users', 'GET', '/v1/users/:handle/followers', 'timeline', new Set(['users:read'])),
    ).toMatchObject({
      allowed: true,
    });
    expect(
      decide('users', 'GET', '/v1/users/:handle/followers', 'timeline', new Set(['users:write'])),
    ).toMatchObject({
      allowed: false,
      reason: expect.stringContaining('lacks the scope users:read'),
    });
  });

  it('grants a service exactly the scopes of its rules', () => {
    expect(scopesFor('timeline', 'users')).toEqual(['users:read']);
    expect(scopesFor('timeline', 'tweets')).toEqual([]);
    expect(scopesFor('gateway', 'users').sort()).toEqual(['follows:write', 'users:read']);
    expect(scopesOf('realtime').sort()).toEqual(['realtime:read', 'realtime:write']);
  });

  it('leaves probes and admin to their own checks and keeps the trust plane apart', () => {
    for (const route of ['/healthz', '/readyz', '/admin/faults', undefined])
      expect(isExemptRoute(route)).toBe(true);
    expect(isExemptRoute('/administrator')).toBe(false);
    expect(isTrustPlaneRoute('/trust/events')).toBe(true);
    expect(isTrustPlaneRoute('/trust/introspect')).toBe(false);
  });

  it('names only services that exist as callers', () => {
    const known = new Set(['auth', 'users', 'tweets', 'timeline', 'realtime', 'gateway']);
    for (const rules of Object.values(CLUSTER_POLICY))
      for (const rule of rules)
        for (const caller of rule.callers) expect(known.has(caller), caller).toBe(true);
  });
});
