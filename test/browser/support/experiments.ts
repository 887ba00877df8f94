/**
 * A short experiment for the browser tier: 100 ms on tweets for a moment while timelines keep
 * answering (the Experiments test types it into the editor; the dashboard walk runs it for the docs).
 */
export const QUICK = `title: Quick latency
description: 100 ms on tweets for a moment; timelines keep answering.
users: [reader]
steadyState:
  probes:
    - { type: http, name: timeline answers, path: '/api/timeline?limit=5', as: reader, expect: { status: [200] } }
  recoveryMs: 10000
method:
  - type: fault
    name: slow-tweets
    fault: { type: request, target: { service: tweets }, fault: { kind: latency, latencyMs: 100 }, durationMs: 30000 }
  - { type: wait, ms: 1500 }
  - type: probe
    probe: { type: http, name: timeline still answers, path: '/api/timeline?limit=5', as: reader, expect: { status: [200] } }
`;
