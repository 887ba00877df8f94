/**
 * Links from a breaker to the traces it short-circuited. A call refused by an open breaker is a
 * client span of the caller with status error and `error.type = breaker_open` (sample-cluster/kit/
 * service-client.ts), so the Traces view's search (its URL query mirrors the form) finds them.
 */
export function shortCircuitQuery(caller: string): Record<string, string> {
  return { service: caller, status: 'error', attrs: 'error.type=breaker_open' };
}
