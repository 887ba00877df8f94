import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { mintServiceJwt, signingSecret, verifyServiceJwt, type SharedSecret } from './service-jwt.ts';

const secret = (kid: string, signFrom = 0): SharedSecret => ({
  kid,
  secret: randomBytes(32).toString('base64url'),
  signFrom,
});

describe('shared-secret service JWTs', () => {
  it('carry the caller to the callee they were minted for', async () => {
    const s = secret('a');
    const { token } = await mintServiceJwt(s, 'gateway', 'tweets');
    await expect(verifyServiceJwt(token, [s], 'tweets')).resolves.toBe('gateway');
    await expect(verifyServiceJwt(token, [s], 'users')).rejects.toThrow('"aud" claim');
  });

  it('are refused with an unknown or wrong secret, expired, or with another algorithm', async () => {
    const s = secret('a');
    const other = { ...secret('a') };
    await expect(
      verifyServiceJwt((await mintServiceJwt(s, 'gateway', 'tweets')).token, [other], 'tweets'),
    ).rejects.toThrow('not valid');
    await expect(
      verifyServiceJwt((await mintServiceJwt(s, 'gateway', 'tweets')).token, [secret('b')], 'tweets'),
    ).rejects.toThrow('unknown secret');
    await expect(
      verifyServiceJwt((await mintServiceJwt(s, 'gateway', 'tweets', -30)).token, [s], 'tweets'),
    ).rejects.toThrow('expired');
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', kid: 'a' })).toString('base64url')}.${Buffer.from(
      JSON.stringify({ sub: 'gateway', aud: 'tweets' }),
    ).toString('base64url')}.`;
    await expect(verifyServiceJwt(none, [s], 'tweets')).rejects.toThrow();
    const untyped = await new SignJWT({ sub: 'gateway', aud: 'tweets', iss: 'chaoscope-services' })
      .setProtectedHeader({ alg: 'HS256', kid: 'a' })
      .setIssuedAt()
      .setExpirationTime('1m')
      .sign(Buffer.from(s.secret, 'base64url'));
    await expect(verifyServiceJwt(untyped, [s], 'tweets')).rejects.toThrow();
  });

  it('are signed with the newest secret that is due, while older ones stay accepted', () => {
    const now = Date.now();
    const old = secret('old', now - 60_000);
    const next = secret('next', now + 2_000);
    expect(signingSecret([old, next], now)?.kid).toBe('old');
    expect(signingSecret([old, next], now + 2_000)?.kid).toBe('next');
  });
});
