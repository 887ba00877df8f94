/**
 * Checks of this server's own JWT access tokens, for revocation, introspection and the admin API:
 * signature against the published keys, issuer, `typ`, and whether they are revoked.
 */
import {
  createLocalJWKSet,
  decodeProtectedHeader,
  jwtVerify,
  type JSONWebKeySet,
  type JWTPayload,
} from 'jose';
import type { TokenRegistry } from './token-registry.ts';

export interface AccessTokenClaims extends JWTPayload {
  readonly jti: string;
  readonly exp: number;
  readonly client_id?: string;
  readonly scope?: string;
}

export function looksLikeJwt(token: string): boolean {
  try {
    decodeProtectedHeader(token);
    return token.split('.').length === 3;
  } catch {
    return false;
  }
}

export class AccessTokens {
  readonly #issuer: string;
  readonly #jwks: () => JSONWebKeySet;
  readonly #registry: TokenRegistry;

  constructor(options: { issuer: string; jwks: () => JSONWebKeySet; registry: TokenRegistry }) {
    this.#issuer = options.issuer;
    this.#jwks = options.jwks;
    this.#registry = options.registry;
  }

  /** The claims of a token this server signed (expired ones too when asked), or undefined. */
  async claims(
    token: string,
    options: { allowExpired?: boolean; audience?: string } = {},
  ): Promise<AccessTokenClaims | undefined> {
    try {
      const { payload } = await jwtVerify(token, createLocalJWKSet(this.#jwks()), {
        issuer: this.#issuer,
        typ: 'at+jwt',
        algorithms: ['ES256'],
        requiredClaims: ['exp', 'jti'],
        ...(options.audience ? { audience: options.audience } : {}),
        // Expired tokens need no revocation, but an admin may still name one.
        ...(options.allowExpired ? { currentDate: new Date(0) } : {}),
      });
      return payload as AccessTokenClaims;
    } catch {
      return undefined;
    }
  }

  /** RFC 7662 answer for an access token: active only when valid and not revoked. */
  async introspect(token: string, audience: string): Promise<Record<string, unknown>> {
    const claims = await this.claims(token, { audience });
    if (!claims || this.#registry.isRevoked(claims.jti, claims.sub, claims.iat)) return { active: false };
    return {
      active: true,
      token_type: 'Bearer',
      iss: claims.iss,
      sub: claims.sub,
      aud: claims.aud,
      client_id: claims.client_id,
      scope: claims.scope,
      jti: claims.jti,
      iat: claims.iat,
      exp: claims.exp,
    };
  }
}
