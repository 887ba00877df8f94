/** What every command handler may use: the parts the control plane is composed of. */
import type { ClusterStatus as ApiClusterStatus } from '../api/schemas.ts';
import type { ChaosEngine } from './chaos/engine.ts';
import type { Scheduler } from './chaos/schedules.ts';
import type { ClusterAccess } from './cluster-access.ts';
import type { EventBus } from './event-bus.ts';
import type { Experiments } from './experiments/index.ts';
import type { FaultTracker } from './fault-tracker.ts';
import type { ControlPaths } from './paths.ts';
import type { PauseManager } from './pauses.ts';
import type { SettingsStore } from './settings-store.ts';
import type { TelemetryPipeline } from './telemetry-pipeline.ts';

export interface ControlContext {
  readonly paths: ControlPaths;
  readonly settings: SettingsStore;
  readonly telemetry: TelemetryPipeline;
  readonly bus: EventBus;
  readonly cluster: ClusterAccess;
  readonly pauses: PauseManager;
  readonly faults: FaultTracker;
  /** Every fault the operator, a schedule or an experiment applies: journalled, rolled back, marked. */
  readonly chaos: ChaosEngine;
  readonly experiments: Experiments;
  /** Faults and experiments repeated on an interval within a blast radius. */
  readonly schedules: Scheduler;
  /** Said once to whoever asks `system.info` (busy ports, faults rolled back at start). */
  readonly notices: string[];
  readonly startedAt: string;
  /** The web dashboard's URL without its token; null when web mode is off. */
  dashboardUrl(): string | null;
  /** Announce the cluster as a handler just left it (cluster.status and service.state events). */
  observeCluster(status: ApiClusterStatus | null): void;
  /**
   * Let containers reach the collector (a relay on the Docker bridge address); idempotent. Answers
   * a sentence for the user when that is impossible.
   */
  ensureContainerTelemetry(): Promise<string | null>;
  /** Stop the control plane soon (after the current answer is sent). */
  requestShutdown(stopCluster: boolean): void;
}
