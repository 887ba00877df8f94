/**
 * Users for the journey tests: accounts signed up through the gateway (password
 * `<handle>-password`, display name the handle in capitals) and logged in with code + PKCE.
 */
import { expect } from 'vitest';
import { api } from './http.ts';
import { login } from './oauth-client.ts';

/** Sign up every handle (each answered 201) and log each in: access tokens by handle. */
export async function signUpAndLogIn(
  gateway: string,
  handles: readonly string[],
): Promise<Map<string, string>> {
  for (const handle of handles)
    expect(
      (
        await api(gateway, 'POST', '/api/accounts', {
          body: { handle, password: `${handle}-password`, displayName: handle.toUpperCase() },
        })
      ).status,
    ).toBe(201);
  const tokens = new Map<string, string>();
  for (const handle of handles)
    tokens.set(handle, (await login(gateway, handle, `${handle}-password`)).accessToken);
  return tokens;
}

/** The holder of `followerToken` follows `followed` (answered 204). */
export async function follow(gateway: string, followerToken: string, followed: string): Promise<void> {
  expect((await api(gateway, 'PUT', `/api/users/${followed}/follow`, { token: followerToken })).status).toBe(
    204,
  );
}

/** `reader` follows `writer`, so what writer posts reaches reader's home timeline. */
export async function readerFollowingWriter(gateway: string): Promise<{ reader: string; writer: string }> {
  const tokens = await signUpAndLogIn(gateway, ['reader', 'writer']);
  const reader = tokens.get('reader')!;
  await follow(gateway, reader, 'writer');
  return { reader, writer: tokens.get('writer')! };
}
