export { searchTraces, traceSearchSchema, type TraceSearch, type TraceSummary } from './search.ts';
export { getSpan, getTrace, getTraceOutline, getTraceSpans } from './trace.ts';
export type { SpanOutline } from './spans.ts';
export { findInTrace, type SpanMatch, type TraceFind } from './find.ts';
export {
  getOutlineColumns,
  OUTLINE_SPAN_KINDS,
  OUTLINE_STATUS_CODES,
  type OutlineColumns,
} from './outline.ts';
export { assembleTrace, compareSpans, type SpanShape, type TraceNode, type TraceView } from './assemble.ts';
export { serviceGraph, type ServiceGraph, type ServiceEdge, type TimeWindow } from './service-graph.ts';
export { red, redByRoute, type RedQuery, type RedSeries, type RedPoint } from './red.ts';
export {
  breakerTimeline,
  BREAKER_TRANSITION_EVENT,
  BREAKER_NAME_ATTRIBUTE,
  BREAKER_FROM_ATTRIBUTE,
  BREAKER_TO_ATTRIBUTE,
  BREAKER_REASON_ATTRIBUTE,
  EVENT_NAME_ATTRIBUTE,
  type BreakerTimeline,
  type BreakerTransitionRecord,
  type CircuitStats,
} from './breakers.ts';
export { criticalPath, type CriticalPath, type CriticalSegment } from './critical-path.ts';
export { compareTraces, type TraceComparison, type MatchedSpan, type UnmatchedSpan } from './compare.ts';
export { exportTraceAsOtlpJson, spansToOtlpJson, type OtlpTracesJson } from './otlp-json.ts';
export { InvalidQueryError } from './params.ts';
export { listMarkers, markersQuerySchema, type MarkersQuery, type StoredMarker } from './markers.ts';
