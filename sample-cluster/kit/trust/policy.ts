/**
 * Who may call which route of which service, and with what scope: the cluster's one
 * authorization policy. The kit's guard (guard.ts) checks every internal request against it, and
 * the auth service grants each service's OAuth client exactly the scopes its rules name, so the
 * two can never disagree.
 *
 * Routes are fastify route templates; a service that has rules refuses any route it has no rule
 * for (deny by default). Services without rules here (registry, gateway, loadgen) are not guarded:
 * the gateway is the public entry, the registry is the discovery plane every instance needs before
 * it has any credential, loadgen is a public client.
 */
export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH' | 'HEAD' | 'OPTIONS' | '*';

export interface PolicyRule {
  readonly method: Method;
  readonly route: string;
  readonly callers: readonly string[];
  /** The scope an OAuth access token must carry for this rule (other modes prove identity only). */
  readonly scope: string;
}

const rule = (method: Method, route: string, callers: readonly string[], scope: string): PolicyRule => ({
  method,
  route,
  callers,
  scope,
});

export const CLUSTER_POLICY: Readonly<Record<string, readonly PolicyRule[]>> = {
  auth: [
    rule('POST', '/accounts', ['gateway'], 'auth:accounts'),
    rule('GET', '/accounts/:handle', ['gateway'], 'auth:accounts'),
    // The gateway publishes the OAuth server as its own; nobody else reaches it.
    rule('*', '/oauth/*', ['gateway'], 'auth:oauth'),
    rule('*', '/.well-known/*', ['gateway'], 'auth:oauth'),
    rule('POST', '/oauth/revoke', ['gateway'], 'auth:oauth'),
    rule('GET', '/oauth/interaction/:uid', ['gateway'], 'auth:oauth'),
    rule('POST', '/oauth/interaction/:uid', ['gateway'], 'auth:oauth'),
    rule('POST', '/oauth/interaction/:uid/login', ['gateway'], 'auth:oauth'),
    rule('POST', '/trust/introspect', ['gateway'], 'auth:introspect'),
  ],
  users: [
    rule('PUT', '/v1/users/:handle', ['auth'], 'users:write'),
    rule('GET', '/v1/users/:handle', ['gateway'], 'users:read'),
    rule('POST', '/v1/users/batch', ['gateway'], 'users:read'),
    rule('GET', '/v1/users/:handle/following', ['gateway'], 'users:read'),
    rule('GET', '/v1/users/:handle/followers', ['timeline', 'realtime'], 'users:read'),
    rule('PUT', '/v1/users/:handle/following/:target', ['gateway'], 'follows:write'),
    rule('DELETE', '/v1/users/:handle/following/:target', ['gateway'], 'follows:write'),
  ],
  tweets: [
    rule('POST', '/v1/tweets', ['gateway'], 'tweets:write'),
    rule('POST', '/v1/tweets/batch', ['gateway'], 'tweets:read'),
    rule('GET', '/v1/tweets', ['gateway'], 'tweets:read'),
    rule('GET', '/v1/tweets/:id', ['gateway'], 'tweets:read'),
  ],
  timeline: [
    rule('POST', '/v1/events/tweet-posted', ['tweets'], 'timeline:write'),
    rule('GET', '/v1/timelines/home/:handle', ['gateway'], 'timeline:read'),
    rule('GET', '/v1/timelines/user/:handle', ['gateway'], 'timeline:read'),
  ],
  realtime: [
    rule('POST', '/v1/events/tweet-posted', ['tweets'], 'realtime:write'),
    rule('GET', '/v1/stream/:handle', ['gateway'], 'realtime:read'),
    rule('GET', '/v1/stats', ['gateway'], 'realtime:read'),
  ],
};

/** Paths every service answers without service credentials: probes, and admin (own credential). */
export function isExemptRoute(route: string | undefined): boolean {
  return (
    route === undefined ||
    route === '/healthz' ||
    route === '/readyz' ||
    route === '/admin' ||
    route.startsWith('/admin/')
  );
}

/** The trust plane (enrollment, the event stream, service tokens): guarded by certificates only. */
export function isTrustPlaneRoute(route: string | undefined): boolean {
  return route !== undefined && route.startsWith('/trust/') && route !== '/trust/introspect';
}

export function isGuarded(callee: string): boolean {
  return Object.hasOwn(CLUSTER_POLICY, callee);
}

export type Decision =
  | { readonly allowed: true; readonly rule: PolicyRule }
  | { readonly allowed: false; readonly status: 403; readonly reason: string };

/**
 * The decision for one request. `scopes` is null when the caller proved its identity by a
 * certificate or a shared-secret JWT (no scopes in those proofs); an OAuth token's scopes are
 * checked against the rule.
 */
export function decide(
  callee: string,
  method: string,
  route: string,
  caller: string,
  scopes: ReadonlySet<string> | null,
  policy: Readonly<Record<string, readonly PolicyRule[]>> = CLUSTER_POLICY,
): Decision {
  const rules = policy[callee] ?? [];
  const matching = rules.filter((r) => r.route === route && (r.method === '*' || r.method === method));
  if (matching.length === 0)
    return { allowed: false, status: 403, reason: `no policy rule of ${callee} covers ${method} ${route}` };
  const forCaller = matching.find((r) => r.callers.includes(caller));
  if (!forCaller)
    return { allowed: false, status: 403, reason: `${caller} may not call ${method} ${route} on ${callee}` };
  if (scopes && !scopes.has(forCaller.scope))
    return {
      allowed: false,
      status: 403,
      reason: `the access token of ${caller} lacks the scope ${forCaller.scope}`,
    };
  return { allowed: true, rule: forCaller };
}

/** Every scope the policy lets `caller` hold on `callee`: what auth grants its OAuth client. */
export function scopesFor(
  caller: string,
  callee: string,
  policy: Readonly<Record<string, readonly PolicyRule[]>> = CLUSTER_POLICY,
): string[] {
  return [...new Set((policy[callee] ?? []).filter((r) => r.callers.includes(caller)).map((r) => r.scope))];
}

/** Every scope any rule of `callee` names: the resource server's scope list at auth. */
export function scopesOf(
  callee: string,
  policy: Readonly<Record<string, readonly PolicyRule[]>> = CLUSTER_POLICY,
): string[] {
  return [...new Set((policy[callee] ?? []).map((r) => r.scope))];
}
