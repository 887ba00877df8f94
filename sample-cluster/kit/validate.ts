import type { z } from 'zod';
import { HttpProblem } from './problem.ts';

/**
 * Validate untrusted input at a boundary. The 400 lists each problem with its path so the caller
 * can fix the request without guessing.
 */
export function parse<S extends z.ZodType>(schema: S, value: unknown, where = 'body'): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const errors = result.error.issues.map((i) => ({
    pointer: `/${[where, ...i.path.map(String)].join('/')}`,
    detail: i.message,
  }));
  const first = errors[0];
  throw new HttpProblem(400, first ? `${first.pointer}: ${first.detail}` : `invalid ${where}`, {
    title: 'Invalid request',
    type: 'https://chaoscope.dev/problems/validation',
    extensions: { errors },
  });
}
