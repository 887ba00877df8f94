/**
 * Who a service is, in every form the trust layer meets it: a SPIFFE-style URI in certificates,
 * a client id at the OAuth server, a subject in shared-secret JWTs.
 */
export const TRUST_DOMAIN = 'chaoscope';
const SPIFFE_PREFIX = `spiffe://${TRUST_DOMAIN}/`;
const SERVICE_NAME = /^[a-z][a-z0-9-]{0,62}$/;
/** Prefix of a service's OAuth client id, so it never collides with user-facing clients. */
export const SERVICE_CLIENT_PREFIX = 'svc:';

export const TRUST_MODES = ['mtls', 'jwt-secret', 'oauth'] as const;
export type TrustMode = (typeof TRUST_MODES)[number];

export function isServiceName(value: string): boolean {
  return SERVICE_NAME.test(value);
}

export function spiffeId(service: string): string {
  if (!isServiceName(service)) throw new Error(`not a service name: ${service}`);
  return `${SPIFFE_PREFIX}${service}`;
}

/** The service a SPIFFE id names, or undefined for anything else (another trust domain, a path). */
export function serviceOfSpiffeId(uri: string): string | undefined {
  if (!uri.startsWith(SPIFFE_PREFIX)) return undefined;
  const name = uri.slice(SPIFFE_PREFIX.length);
  return isServiceName(name) ? name : undefined;
}

/**
 * The service named by a certificate's subjectAltName as Node's TLS reports it
 * ("URI:spiffe://chaoscope/users, IP Address:127.0.0.1"). Exactly one SPIFFE URI is accepted.
 */
export function serviceOfAltNames(subjectAltName: string | undefined): string | undefined {
  if (!subjectAltName) return undefined;
  const uris = subjectAltName
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.startsWith('URI:'))
    .map((part) => part.slice(4));
  if (uris.length !== 1) return undefined;
  return serviceOfSpiffeId(uris[0]!);
}

export function serviceClientId(service: string): string {
  return `${SERVICE_CLIENT_PREFIX}${service}`;
}

export function serviceOfClientId(clientId: string): string | undefined {
  if (!clientId.startsWith(SERVICE_CLIENT_PREFIX)) return undefined;
  const name = clientId.slice(SERVICE_CLIENT_PREFIX.length);
  return isServiceName(name) ? name : undefined;
}

/** Certificate serials compared the same way whatever printed them (Node: upper case hex). */
export function normalizeSerial(serial: string): string {
  return serial.toLowerCase().replace(/^0+(?=.)/, '');
}
