/**
 * The Node flags every service runs with, on every runtime.
 * `--experimental-async-context-frame`: Node 22's AsyncLocalStorage (which the OpenTelemetry
 * context manager uses) without a promise hook on every promise, as Node 24 does by default. In
 * bench/run.ts it took tracing's cost from 42 % of the gateway's throughput to 7 %.
 */
export const SERVICE_NODE_FLAGS: readonly string[] = [
  '--disable-warning=ExperimentalWarning',
  '--experimental-async-context-frame',
];
