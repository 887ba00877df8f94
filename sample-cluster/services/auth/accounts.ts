import { z } from 'zod';
import { conflict } from '../../kit/problem.ts';
import { transaction, type Database } from '../../kit/storage.ts';
import type { Outbox } from '../../kit/outbox.ts';
import { burnPasswordCheck, hashPassword, verifyPassword } from './passwords.ts';

export { handleSchema } from '../../kit/identifiers.ts';
import { handleSchema } from '../../kit/identifiers.ts';

export const signUpBody = z.strictObject({
  handle: handleSchema,
  // The upper bound keeps a hash request from becoming a way to burn CPU.
  password: z.string().min(8, 'must be at least 8 characters').max(1024),
  displayName: z.string().trim().min(1).max(50),
});

export type SignUp = z.infer<typeof signUpBody>;

export interface AccountView {
  readonly handle: string;
  readonly displayName: string;
  readonly createdAt: string;
}

/** What the users service is told after a sign-up: PUT /v1/users/:handle with this body. */
export const PROFILE_DESTINATION = 'users';
export const ACCOUNT_CREATED = 'account.created';

interface AccountRow {
  handle: string;
  display_name: string;
  password_hash: string;
  created_at: string;
}

export class AccountStore {
  readonly #db: Database;
  readonly #outbox: Outbox;

  constructor(db: Database, outbox: Outbox) {
    this.#db = db;
    this.#outbox = outbox;
  }

  /** Create the account and, in the same transaction, the message that gives it a profile. */
  async create(input: SignUp): Promise<AccountView> {
    const passwordHash = await hashPassword(input.password);
    const account: AccountView = {
      handle: input.handle,
      displayName: input.displayName,
      createdAt: new Date().toISOString(),
    };
    transaction(this.#db, () => {
      const inserted = this.#db
        .prepare(
          'INSERT INTO accounts (handle, display_name, password_hash, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (handle) DO NOTHING',
        )
        .run(account.handle, account.displayName, passwordHash, account.createdAt);
      if (inserted.changes === 0) throw conflict(`the handle "${account.handle}" is taken`);
      this.#outbox.enqueue(ACCOUNT_CREATED, { ...account }, [PROFILE_DESTINATION]);
    });
    return account;
  }

  find(handle: string): AccountView | undefined {
    const row = this.#row(handle);
    return row && toView(row);
  }

  /**
   * The account when the password is right. Unknown handle and wrong password take the same time
   * and give the same answer.
   */
  async authenticate(login: string, password: string): Promise<AccountView | undefined> {
    const row = handleSchema.safeParse(login).success ? this.#row(login) : undefined;
    if (!row) return burnPasswordCheck(password).then(() => undefined);
    return (await verifyPassword(password, row.password_hash)) ? toView(row) : undefined;
  }

  #row(handle: string): AccountRow | undefined {
    return this.#db
      .prepare('SELECT handle, display_name, password_hash, created_at FROM accounts WHERE handle = ?')
      .get(handle) as AccountRow | undefined;
  }
}

function toView(row: AccountRow): AccountView {
  return { handle: row.handle, displayName: row.display_name, createdAt: row.created_at };
}
