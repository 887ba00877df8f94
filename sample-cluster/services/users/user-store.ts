import type { StatementSync } from 'node:sqlite';
import { transaction, type Database } from '../../kit/storage.ts';

export interface Profile {
  handle: string;
  displayName: string;
  createdAt: string;
  followers: number;
  following: number;
}

export interface HandlePage {
  handles: string[];
  /** Pass as `after` to get the next page; null on the last page. */
  next: string | null;
}

interface ProfileRow {
  handle: string;
  display_name: string;
  created_at: string;
  followers: number;
  following: number;
}

const toProfile = (row: ProfileRow): Profile => ({
  handle: row.handle,
  displayName: row.display_name,
  createdAt: row.created_at,
  followers: row.followers,
  following: row.following,
});

const PROFILE_COLUMNS = 'handle, display_name, created_at, followers, following';

function prepare(db: Database) {
  return {
    insert: db.prepare(
      'INSERT INTO profiles (handle, display_name, created_at) VALUES (?, ?, ?) ON CONFLICT (handle) DO NOTHING',
    ),
    get: db.prepare(`SELECT ${PROFILE_COLUMNS} FROM profiles WHERE handle = ?`),
    getMany: db.prepare(
      `SELECT ${PROFILE_COLUMNS} FROM profiles WHERE handle IN (SELECT value FROM json_each(?))`,
    ),
    exists: db.prepare('SELECT 1 AS found FROM profiles WHERE handle = ?'),
    addEdge: db.prepare(
      'INSERT INTO follows (follower, followee, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
    ),
    removeEdge: db.prepare('DELETE FROM follows WHERE follower = ? AND followee = ?'),
    bumpFollowing: db.prepare('UPDATE profiles SET following = following + ? WHERE handle = ?'),
    bumpFollowers: db.prepare('UPDATE profiles SET followers = followers + ? WHERE handle = ?'),
    followers: db.prepare(
      'SELECT follower AS handle FROM follows WHERE followee = ? AND follower > ? ORDER BY follower LIMIT ?',
    ),
    following: db.prepare(
      'SELECT followee AS handle FROM follows WHERE follower = ? AND followee > ? ORDER BY followee LIMIT ?',
    ),
  };
}

export type FollowOutcome = 'done' | 'unknown-follower' | 'unknown-target';

/** Profiles and the follow graph in the service's own SQLite database. */
export class UserStore {
  private readonly db: Database;
  private readonly statements: ReturnType<typeof prepare>;

  constructor(db: Database) {
    this.db = db;
    this.statements = prepare(db);
  }

  /**
   * Create a profile unless it exists. The first write wins: the sign-up event may be delivered
   * again (outbox, at least once), and a late duplicate must not overwrite anything.
   */
  create(input: { handle: string; displayName: string; createdAt: string }): {
    created: boolean;
    profile: Profile;
  } {
    const created = this.statements.insert.run(input.handle, input.displayName, input.createdAt).changes > 0;
    const profile = this.get(input.handle);
    if (!profile) throw new Error(`profile "${input.handle}" vanished right after it was written`);
    return { created, profile };
  }

  get(handle: string): Profile | undefined {
    const row = this.statements.get.get(handle) as ProfileRow | undefined;
    return row && toProfile(row);
  }

  /** Profiles for the handles that exist, keyed by handle. */
  getMany(handles: readonly string[]): Map<string, Profile> {
    const rows = this.statements.getMany.all(JSON.stringify(handles)) as unknown as ProfileRow[];
    return new Map(rows.map((row) => [row.handle, toProfile(row)]));
  }

  exists(handle: string): boolean {
    return this.statements.exists.get(handle) !== undefined;
  }

  /** Idempotent: following twice leaves one edge and the counts unchanged. */
  follow(follower: string, followee: string): FollowOutcome {
    return transaction(this.db, () => {
      const unknown = this.checkBoth(follower, followee);
      if (unknown) return unknown;
      const added = this.statements.addEdge.run(follower, followee, new Date().toISOString()).changes > 0;
      if (added) this.adjustCounts(follower, followee, +1);
      return 'done';
    });
  }

  /** Idempotent: unfollowing someone not followed is not an error. */
  unfollow(follower: string, followee: string): FollowOutcome {
    return transaction(this.db, () => {
      const unknown = this.checkBoth(follower, followee);
      if (unknown) return unknown;
      const removed = this.statements.removeEdge.run(follower, followee).changes > 0;
      if (removed) this.adjustCounts(follower, followee, -1);
      return 'done';
    });
  }

  /** Keyset pagination in handle order, so a page stays correct while the graph changes. */
  followers(handle: string, limit: number, after: string | undefined): HandlePage {
    return this.page(this.statements.followers, handle, limit, after);
  }

  following(handle: string, limit: number, after: string | undefined): HandlePage {
    return this.page(this.statements.following, handle, limit, after);
  }

  private page(
    statement: StatementSync,
    handle: string,
    limit: number,
    after: string | undefined,
  ): HandlePage {
    // One row more than asked tells whether a next page exists without a second query.
    const rows = statement.all(handle, after ?? '', limit + 1) as Array<{ handle: string }>;
    const handles = rows.slice(0, limit).map((r) => r.handle);
    return { handles, next: rows.length > limit ? (handles.at(-1) ?? null) : null };
  }

  private checkBoth(follower: string, followee: string): FollowOutcome | undefined {
    if (!this.exists(follower)) return 'unknown-follower';
    if (!this.exists(followee)) return 'unknown-target';
    return undefined;
  }

  private adjustCounts(follower: string, followee: string, delta: 1 | -1): void {
    this.statements.bumpFollowing.run(delta, follower);
    this.statements.bumpFollowers.run(delta, followee);
  }
}
