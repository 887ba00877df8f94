import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../kit/storage.ts';
import { AUTH_MIGRATIONS } from './database.ts';
import { sqliteAdapterFactory, sweepExpired } from './oidc-adapter.ts';

function adapters() {
  const db = openDatabase(':memory:', AUTH_MIGRATIONS);
  return { db, adapter: sqliteAdapterFactory(db) };
}

describe('SQLite adapter for oidc-provider', () => {
  it('stores, finds and destroys per model', async () => {
    const { adapter } = adapters();
    await adapter('RefreshToken').upsert('t1', { accountId: 'alice', grantId: 'g1' }, 60);
    expect(await adapter('RefreshToken').find('t1')).toEqual({ accountId: 'alice', grantId: 'g1' });
    expect(await adapter('AccessToken').find('t1')).toBeUndefined();
    await adapter('RefreshToken').destroy('t1');
    expect(await adapter('RefreshToken').find('t1')).toBeUndefined();
  });

  it('marks a consumed artifact, and a later save does not unconsume it', async () => {
    const { adapter } = adapters();
    const codes = adapter('AuthorizationCode');
    await codes.upsert('c1', { grantId: 'g1' }, 60);
    await codes.consume('c1');
    const consumed = await codes.find('c1');
    expect(consumed?.consumed).toEqual(expect.any(Number));
    await codes.upsert('c1', { grantId: 'g1' }, 60);
    expect((await codes.find('c1'))?.consumed).toBe(consumed?.consumed);
  });

  it('finds sessions by uid and device codes by user code', async () => {
    const { adapter } = adapters();
    await adapter('Session').upsert('s1', { uid: 'u1', accountId: 'alice' }, 60);
    await adapter('DeviceCode').upsert('d1', { userCode: 'ABCD-EFGH' }, 60);
    expect(await adapter('Session').findByUid('u1')).toMatchObject({ accountId: 'alice' });
    expect(await adapter('DeviceCode').findByUserCode('ABCD-EFGH')).toMatchObject({ userCode: 'ABCD-EFGH' });
    expect(await adapter('Session').findByUid('nope')).toBeUndefined();
  });

  it('revokes everything of one grant in one model', async () => {
    const { adapter } = adapters();
    await adapter('RefreshToken').upsert('r1', { grantId: 'g1' }, 60);
    await adapter('RefreshToken').upsert('r2', { grantId: 'g1' }, 60);
    await adapter('RefreshToken').upsert('r3', { grantId: 'g2' }, 60);
    await adapter('AuthorizationCode').upsert('c1', { grantId: 'g1' }, 60);
    await adapter('RefreshToken').revokeByGrantId('g1');
    expect(await adapter('RefreshToken').find('r1')).toBeUndefined();
    expect(await adapter('RefreshToken').find('r2')).toBeUndefined();
    expect(await adapter('RefreshToken').find('r3')).toBeDefined();
    expect(await adapter('AuthorizationCode').find('c1')).toBeDefined();
  });

  it('hides expired rows at once and sweeps them later', async () => {
    const { db, adapter } = adapters();
    await adapter('Interaction').upsert('i1', { uid: 'x' }, 1);
    await adapter('Grant').upsert('g1', { accountId: 'alice' }, undefined);
    expect(await adapter('Interaction').find('i1')).toBeDefined();
    const later = Date.now() + 2_000;
    expect(sweepExpired(db, later)).toBe(1);
    expect(await adapter('Grant').find('g1')).toBeDefined();
    db.prepare("UPDATE oidc_store SET expires_at = ? WHERE model = 'Grant'").run(Date.now() - 1);
    expect(await adapter('Grant').find('g1')).toBeUndefined();
  });
});
