/**
 * The renderer's Content Security Policy. Everything comes from our own origin; nothing remote,
 * no inline or evaluated script, no plugins, no framing, no form posts. The renderer talks to the
 * control plane over IPC, so `connect-src` needs no network destination at all.
 */
const DIRECTIVES: ReadonlyArray<readonly [string, string]> = [
  ['default-src', "'none'"],
  ['script-src', "'self'"],
  // Vue binds `:style` through the CSSOM (not blocked by CSP); the bundler emits CSS files.
  ['style-src', "'self'"],
  ['img-src', "'self' data: blob:"],
  ['font-src', "'self'"],
  ['connect-src', "'self'"],
  ['worker-src', "'self'"],
  ['manifest-src', "'self'"],
  ['media-src', "'none'"],
  ['object-src', "'none'"],
  ['frame-src', "'none'"],
  ['child-src', "'none'"],
  ['frame-ancestors', "'none'"],
  ['form-action', "'none'"],
  ['base-uri', "'none'"],
];

export const CONTENT_SECURITY_POLICY = DIRECTIVES.map(([name, value]) => `${name} ${value}`).join('; ');

type HeaderMap = Record<string, string | string[]>;

/**
 * Response headers with our CSP in force. Any CSP the response already carried is replaced, not
 * merged: a header from elsewhere must not be able to loosen (or confuse) the policy.
 */
export function withContentSecurityPolicy(headers: HeaderMap | undefined): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    const lower = name.toLowerCase();
    if (lower === 'content-security-policy' || lower === 'content-security-policy-report-only') continue;
    out[name] = Array.isArray(value) ? value : [value];
  }
  out['Content-Security-Policy'] = [CONTENT_SECURITY_POLICY];
  return out;
}
