/**
 * Shared-secret service tokens (the article's "token-based" trust): HS256 JWTs with the calling
 * service as subject, the callee as audience, and a short life. Secrets carry a `kid` so a rotation
 * can overlap: callers sign with the newest secret that is due, callees accept every listed one.
 */
import { randomUUID } from 'node:crypto';
import { errors, jwtVerify, SignJWT } from 'jose';
import { isServiceName } from './identity.ts';

export const SERVICE_JWT_TYP = 'chaoscope-service+jwt';
export const SERVICE_JWT_ISSUER = 'chaoscope-services';
/** Long enough to be cached for a burst of calls, short enough that a leak is soon worthless. */
export const SERVICE_JWT_TTL_SECONDS = 60;

export interface SharedSecret {
  readonly kid: string;
  /** base64url of 32 random bytes. */
  readonly secret: string;
  /** Epoch ms from which callers sign with it; callees accept it at once. */
  readonly signFrom: number;
}

/** The secret callers sign with now: the newest whose time has come. */
export function signingSecret(secrets: readonly SharedSecret[], now = Date.now()): SharedSecret | undefined {
  return [...secrets].filter((s) => s.signFrom <= now).sort((a, b) => b.signFrom - a.signFrom)[0];
}

export async function mintServiceJwt(
  secret: SharedSecret,
  caller: string,
  callee: string,
  ttlSeconds = SERVICE_JWT_TTL_SECONDS,
): Promise<{ token: string; expiresAt: number }> {
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: 'HS256', typ: SERVICE_JWT_TYP, kid: secret.kid })
    .setIssuer(SERVICE_JWT_ISSUER)
    .setSubject(caller)
    .setAudience(callee)
    .setIssuedAt(now)
    .setExpirationTime(now + ttlSeconds)
    .setJti(randomUUID())
    .sign(Buffer.from(secret.secret, 'base64url'));
  return { token, expiresAt: (now + ttlSeconds) * 1000 };
}

export class ServiceJwtError extends Error {
  override readonly name = 'ServiceJwtError';
}

/** The calling service, when the token is a valid service JWT for `callee`. */
export async function verifyServiceJwt(
  token: string,
  secrets: readonly SharedSecret[],
  callee: string,
  clockToleranceSeconds = 5,
): Promise<string> {
  try {
    const { payload } = await jwtVerify(
      token,
      (header) => {
        const found = secrets.find((s) => s.kid === header.kid);
        if (!found) throw new ServiceJwtError('the service token names an unknown secret');
        return Buffer.from(found.secret, 'base64url');
      },
      {
        algorithms: ['HS256'],
        typ: SERVICE_JWT_TYP,
        issuer: SERVICE_JWT_ISSUER,
        audience: callee,
        clockTolerance: clockToleranceSeconds,
        maxTokenAge: SERVICE_JWT_TTL_SECONDS * 5,
        requiredClaims: ['exp', 'iat', 'sub'],
      },
    );
    if (!payload.sub || !isServiceName(payload.sub))
      throw new ServiceJwtError('the service token names no service');
    return payload.sub;
  } catch (error) {
    if (error instanceof ServiceJwtError) throw error;
    if (error instanceof errors.JWTExpired) throw new ServiceJwtError('the service token has expired');
    if (error instanceof errors.JWTClaimValidationFailed)
      throw new ServiceJwtError(`the service token's "${error.claim}" claim is not acceptable`);
    throw new ServiceJwtError('the service token is not valid');
  }
}
