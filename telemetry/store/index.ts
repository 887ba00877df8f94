export {
  TelemetryStore,
  StoreBusyError,
  StoreClosedError,
  SchemaTooNewError,
  type StoreOptions,
  type StoreStats,
  type RetentionResult,
  type MarkerInput,
} from './store.ts';
export { TelemetryReader, type Row } from './reader.ts';
export {
  InvalidIdError,
  traceIdFromBigInt,
  spanIdFromBigInt,
  traceIdToBigInt,
  spanIdToBigInt,
} from './ids.ts';
export { InvalidRecordError } from './rows.ts';
export type { TableCounts } from './retention.ts';
