/**
 * RFC 9457 problem details. Every error a service answers with is one of these, so that the
 * gateway, the CLI and the dashboard can show a precise reason.
 */
export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  [extension: string]: unknown;
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export class HttpProblem extends Error {
  override readonly name = 'HttpProblem';
  readonly status: number;
  readonly type: string;
  readonly title: string;
  readonly extensions: Record<string, unknown>;
  /** Response headers that belong with the problem (WWW-Authenticate, Retry-After). */
  readonly headers: Record<string, string>;

  constructor(
    status: number,
    detail?: string,
    options: {
      type?: string;
      title?: string;
      extensions?: Record<string, unknown>;
      headers?: Record<string, string>;
    } = {},
  ) {
    super(detail ?? TITLES[status] ?? `HTTP ${status}`);
    this.status = status;
    this.title = options.title ?? TITLES[status] ?? 'Error';
    this.type = options.type ?? 'about:blank';
    this.extensions = options.extensions ?? {};
    this.headers = options.headers ?? {};
  }

  toBody(instance?: string): ProblemBody {
    const body: ProblemBody = {
      type: this.type,
      title: this.title,
      status: this.status,
      detail: this.message,
    };
    if (instance) body.instance = instance;
    return { ...body, ...this.extensions };
  }
}

export function titleFor(status: number): string {
  return TITLES[status] ?? `HTTP ${status}`;
}

export const badRequest = (detail: string, extensions?: Record<string, unknown>) =>
  new HttpProblem(400, detail, extensions ? { extensions } : {});
export const notFound = (detail: string) => new HttpProblem(404, detail);
export const conflict = (detail: string) => new HttpProblem(409, detail);
export const forbidden = (detail: string) => new HttpProblem(403, detail);
export const serviceUnavailable = (detail: string, retryAfterSeconds?: number) =>
  new HttpProblem(
    503,
    detail,
    retryAfterSeconds ? { headers: { 'retry-after': String(retryAfterSeconds) } } : {},
  );

/** 401 with the RFC 6750 challenge. */
export function unauthorized(
  detail: string,
  error: 'invalid_request' | 'invalid_token' | null = 'invalid_token',
  realm = 'chaoscope',
) {
  const params = [`realm="${realm}"`];
  if (error) params.push(`error="${error}"`, `error_description="${detail.replace(/["\\]/g, "'")}"`);
  return new HttpProblem(401, detail, { headers: { 'www-authenticate': `Bearer ${params.join(', ')}` } });
}

/** 403 for a token that lacks a scope, with the RFC 6750 challenge naming it. */
export function insufficientScope(scope: string, realm = 'chaoscope') {
  return new HttpProblem(403, `this request needs the scope "${scope}"`, {
    headers: { 'www-authenticate': `Bearer realm="${realm}", error="insufficient_scope", scope="${scope}"` },
  });
}
