/**
 * A typed client of the `/admin` routes every service has (sample-cluster/kit/admin.ts): breakers,
 * faults, and the loadgen's live settings (services/loadgen/admin-routes.ts). Runtime-neutral: it
 * needs an instance's address and the cluster admin credential, which every runtime can give.
 *
 * Answers are checked for the fields callers rely on (a service of another version fails here, not
 * three layers up); failures become an AdminError with a kind a caller can branch on and the
 * service's own problem detail as the message.
 */
import { request } from 'undici';
import { z } from 'zod';
import type { BreakerSettings, BreakerSnapshot } from '../kit/breaker.ts';
import type { ActiveFault, FaultSpec } from '../kit/faults.ts';

export type AdminErrorKind =
  /** No answer: the instance is down, paused, or too slow. */
  | 'unreachable'
  /** The admin credential was refused. */
  | 'unauthorized'
  /** No such breaker, fault, or route (the fake services of the tests have no /admin at all). */
  | 'not-found'
  /** The service rejected the input; `problems` lists each field. */
  | 'bad-request'
  | 'failed';

export class AdminError extends Error {
  override readonly name = 'AdminError';
  readonly kind: AdminErrorKind;
  readonly status: number | null;
  readonly problems: readonly string[];

  constructor(
    kind: AdminErrorKind,
    message: string,
    options: { status?: number; problems?: readonly string[]; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.kind = kind;
    this.status = options.status ?? null;
    this.problems = options.problems ?? [];
  }
}

export function isAdminError(error: unknown, kind?: AdminErrorKind): error is AdminError {
  return error instanceof AdminError && (kind === undefined || error.kind === kind);
}

export type BreakerAction = 'open' | 'close' | 'reset';
export type { ActiveFault, BreakerSettings, BreakerSnapshot, FaultSpec };

/** The loadgen's settings and client-side stats, as GET/PUT /admin/load answer them. */
export interface LoadState {
  readonly settings: Record<string, unknown>;
  readonly stats: Record<string, unknown>;
}

export interface AdminInfo {
  readonly service: string;
  readonly instance: string;
  readonly address: string;
  readonly pid: number;
  readonly uptimeSeconds: number;
}

// Only the fields callers depend on are required; the rest pass through untouched.
const breakerSnapshotShape = z.looseObject({
  name: z.string(),
  caller: z.string(),
  callee: z.string(),
  state: z.string(),
  settings: z.looseObject({}),
  counts: z.looseObject({}),
  transitions: z.array(z.looseObject({ from: z.string(), to: z.string(), at: z.string() })),
});
const activeFaultShape = z.looseObject({
  id: z.string(),
  kind: z.string(),
  createdAt: z.string(),
  expiresAt: z.string().nullable(),
  applied: z.number(),
});
const infoShape = z.looseObject({
  service: z.string(),
  instance: z.string(),
  address: z.string(),
  pid: z.number(),
  uptimeSeconds: z.number(),
});
const loadShape = z.object({ settings: z.looseObject({}), stats: z.looseObject({}) });
const problemShape = z.looseObject({
  detail: z.string().optional(),
  title: z.string().optional(),
  errors: z
    .array(z.looseObject({ pointer: z.string().optional(), detail: z.string().optional() }))
    .optional(),
});

export interface AdminClientOptions {
  /** The cluster admin credential (ClusterRuntime.adminToken()). */
  readonly token: string;
  /** Per request. Default 3 s: an admin route answers at once unless the service is frozen. */
  readonly timeoutMs?: number;
}

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

export class AdminClient {
  readonly #token: string;
  readonly #timeoutMs: number;

  constructor(options: AdminClientOptions) {
    this.#token = options.token;
    this.#timeoutMs = options.timeoutMs ?? 3_000;
  }

  async info(address: string): Promise<AdminInfo> {
    return this.#call(address, 'GET', '/admin/info', infoShape);
  }

  // --- breakers -------------------------------------------------------------------------------

  async breakers(address: string): Promise<BreakerSnapshot[]> {
    const body = await this.#call(
      address,
      'GET',
      '/admin/breakers',
      z.object({ breakers: z.array(breakerSnapshotShape) }),
    );
    return body.breakers as unknown as BreakerSnapshot[];
  }

  async breaker(address: string, name: string): Promise<BreakerSnapshot> {
    const body = await this.#call(
      address,
      'GET',
      `/admin/breakers/${encodeURIComponent(name)}`,
      breakerSnapshotShape,
    );
    return body as unknown as BreakerSnapshot;
  }

  async actOnBreaker(address: string, name: string, action: BreakerAction): Promise<BreakerSnapshot> {
    const body = await this.#call(
      address,
      'POST',
      `/admin/breakers/${encodeURIComponent(name)}`,
      breakerSnapshotShape,
      {
        action,
      },
    );
    return body as unknown as BreakerSnapshot;
  }

  async configureBreaker(
    address: string,
    name: string,
    settings: Partial<BreakerSettings>,
  ): Promise<BreakerSnapshot> {
    const body = await this.#call(
      address,
      'PUT',
      `/admin/breakers/${encodeURIComponent(name)}/settings`,
      breakerSnapshotShape,
      settings,
    );
    return body as unknown as BreakerSnapshot;
  }

  // --- faults ---------------------------------------------------------------------------------

  async faults(address: string): Promise<ActiveFault[]> {
    const body = await this.#call(
      address,
      'GET',
      '/admin/faults',
      z.object({ faults: z.array(activeFaultShape) }),
    );
    return body.faults as unknown as ActiveFault[];
  }

  async addFault(address: string, spec: FaultSpec): Promise<ActiveFault> {
    return (await this.#call(
      address,
      'POST',
      '/admin/faults',
      activeFaultShape,
      spec,
    )) as unknown as ActiveFault;
  }

  /** False when the fault was not there (expired, or removed by someone else). */
  async removeFault(address: string, id: string): Promise<boolean> {
    try {
      await this.#call(address, 'DELETE', `/admin/faults/${encodeURIComponent(id)}`, z.unknown());
      return true;
    } catch (error) {
      if (isAdminError(error, 'not-found')) return false;
      throw error;
    }
  }

  /** Remove every fault of the instance; resolves with how many there were. */
  async clearFaults(address: string): Promise<number> {
    const body = await this.#call(
      address,
      'DELETE',
      '/admin/faults',
      z.object({ removed: z.number().int() }),
    );
    return body.removed;
  }

  // --- load (loadgen only) ----------------------------------------------------------------------

  async load(address: string): Promise<LoadState> {
    return this.#call(address, 'GET', '/admin/load', loadShape);
  }

  async setLoad(address: string, patch: Record<string, unknown>): Promise<LoadState> {
    return this.#call(address, 'PUT', '/admin/load', loadShape, patch);
  }

  async resetLoadStats(address: string): Promise<void> {
    await this.#call(address, 'DELETE', '/admin/load/stats', z.unknown());
  }

  // --- transport --------------------------------------------------------------------------------

  async #call<S extends z.ZodType>(
    address: string,
    method: Method,
    path: string,
    shape: S,
    body?: unknown,
  ): Promise<z.output<S>> {
    const where = `${method} ${path} on ${address}`;
    let status: number;
    let text: string;
    try {
      const response = await request(`http://${address}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.#token}`,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      status = response.statusCode;
      text = await response.body.text();
    } catch (error) {
      const reason =
        error instanceof Error && error.name === 'TimeoutError'
          ? `no answer within ${this.#timeoutMs} ms`
          : error instanceof Error
            ? ((error as { code?: string }).code ?? error.message)
            : String(error);
      throw new AdminError('unreachable', `${where}: ${reason}`, { cause: error });
    }
    const json = parseJson(text);
    if (status >= 400) throw problemError(status, json, where);
    if (status === 204) return shape.parse(undefined);
    const parsed = shape.safeParse(json);
    if (!parsed.success) {
      throw new AdminError(
        'failed',
        `${where} answered something unexpected: ${parsed.error.issues[0]?.message ?? 'bad shape'}`,
        {
          status,
        },
      );
    }
    return parsed.data;
  }
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function problemError(status: number, body: unknown, where: string): AdminError {
  const problem = problemShape.safeParse(body);
  const detail = problem.success ? (problem.data.detail ?? problem.data.title) : undefined;
  const problems = problem.success
    ? (problem.data.errors ?? []).map((e) => `${e.pointer ?? ''}: ${e.detail ?? ''}`.replace(/^: /, ''))
    : [];
  const message = detail ?? `${where} answered ${status}`;
  const kind: AdminErrorKind =
    status === 401 || status === 403
      ? 'unauthorized'
      : status === 404
        ? 'not-found'
        : status === 400 || status === 422
          ? 'bad-request'
          : 'failed';
  return new AdminError(kind, message, { status, problems });
}
