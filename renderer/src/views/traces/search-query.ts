/**
 * The trace search as a URL query, so a search is a link (a breaker tile links to its
 * short-circuited traces this way): `#/traces?service=gateway&status=error&minMs=100&range=1h`.
 * Parsed with zod; a bad parameter is reported, not silently dropped.
 */
import { z } from 'zod';
import type { CommandInput } from '../../../../electron/api/commands.ts';

type SearchInput = NonNullable<CommandInput<'traces.search'>>;

export const RANGES = {
  '5m': 5 * 60_000,
  '15m': 15 * 60_000,
  '1h': 3_600_000,
  '6h': 6 * 3_600_000,
  '24h': 24 * 3_600_000,
  '7d': 7 * 24 * 3_600_000,
} as const;
export type RangeKey = keyof typeof RANGES;
export const SORTS = ['newest', 'oldest', 'longest', 'shortest'] as const;
export const STATUSES = ['error', 'ok', 'unset'] as const;

/** The form's state: strings where the user types, as the URL carries them. */
export interface SearchForm {
  service: string;
  operation: string;
  status: '' | (typeof STATUSES)[number];
  minMs: string;
  maxMs: string;
  /** `key=value` pairs separated by spaces or commas. */
  attrs: string;
  range: RangeKey | 'custom';
  from: string;
  to: string;
  limit: number;
  sort: (typeof SORTS)[number];
}

export const DEFAULT_FORM: SearchForm = {
  service: '',
  operation: '',
  status: '',
  minMs: '',
  maxMs: '',
  attrs: '',
  range: '1h',
  from: '',
  to: '',
  limit: 100,
  sort: 'newest',
};

const first = (v: unknown): unknown => (Array.isArray(v) ? (v as unknown[])[0] : v);
const text = z.preprocess(first, z.string().max(500).optional());
const duration = z.preprocess(
  first,
  z
    .string()
    .regex(/^\d+(\.\d+)?$/, 'a duration in ms')
    .optional(),
);
const querySchema = z.object({
  service: text,
  operation: text,
  status: z.preprocess(first, z.enum(STATUSES).optional()),
  minMs: duration,
  maxMs: duration,
  attrs: text,
  range: z.preprocess(first, z.enum([...(Object.keys(RANGES) as RangeKey[]), 'custom']).optional()),
  from: z.preprocess(first, z.string().regex(/^\d+$/).optional()),
  to: z.preprocess(first, z.string().regex(/^\d+$/).optional()),
  limit: z.preprocess(first, z.coerce.number().int().min(1).max(1000).optional()),
  sort: z.preprocess(first, z.enum(SORTS).optional()),
});

export function formFromQuery(query: Record<string, unknown>): { form: SearchForm; problems: string[] } {
  const parsed = querySchema.safeParse(query);
  if (!parsed.success) {
    return {
      form: { ...DEFAULT_FORM },
      problems: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`),
    };
  }
  const q = parsed.data;
  return {
    form: {
      service: q.service ?? '',
      operation: q.operation ?? '',
      status: q.status ?? '',
      minMs: q.minMs ?? '',
      maxMs: q.maxMs ?? '',
      attrs: q.attrs ?? '',
      range: q.range ?? (q.from ? 'custom' : DEFAULT_FORM.range),
      from: q.from ?? '',
      to: q.to ?? '',
      limit: q.limit ?? DEFAULT_FORM.limit,
      sort: q.sort ?? DEFAULT_FORM.sort,
    },
    problems: [],
  };
}

/** Only what differs from the defaults goes into the URL. */
export function queryFromForm(form: SearchForm): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of Object.keys(DEFAULT_FORM) as (keyof SearchForm)[]) {
    const value = form[key];
    if (value !== DEFAULT_FORM[key] && value !== '') out[key] = String(value);
  }
  if (form.range !== 'custom') {
    delete out.from;
    delete out.to;
  }
  return out;
}

export function parseAttributes(attrs: string): { attributes: Record<string, string>; problems: string[] } {
  const attributes: Record<string, string> = {};
  const problems: string[] = [];
  for (const pair of attrs.split(/[\s,]+/).filter(Boolean)) {
    const eq = pair.indexOf('=');
    if (eq <= 0) problems.push(`"${pair}" is not key=value`);
    else attributes[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return { attributes, problems };
}

/** The contract's search input for a form, with the time window resolved at `now`. */
export function searchInput(form: SearchForm, now = Date.now()): { input: SearchInput; problems: string[] } {
  const { attributes, problems } = parseAttributes(form.attrs);
  const input: SearchInput = { limit: form.limit, sort: form.sort };
  if (form.service) input.service = form.service;
  if (form.operation) input.operation = form.operation;
  if (form.status) input.status = form.status;
  if (form.minMs) input.minDurationMs = Number(form.minMs);
  if (form.maxMs) input.maxDurationMs = Number(form.maxMs);
  if (
    input.minDurationMs !== undefined &&
    input.maxDurationMs !== undefined &&
    input.minDurationMs > input.maxDurationMs
  ) {
    problems.push('the minimum duration is above the maximum');
  }
  if (Object.keys(attributes).length > 0) input.attributes = attributes;
  if (form.range === 'custom') {
    if (form.from) input.from = Number(form.from);
    if (form.to) input.to = Number(form.to);
  } else {
    input.from = now - RANGES[form.range];
    input.to = now;
  }
  return { input, problems };
}
