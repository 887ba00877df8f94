/**
 * The control plane: one object composing the runtime (through select.ts), the telemetry pipeline
 * (collector, store, queries), the services' admin routes, load control, settings, the event bus
 * and — when asked — web mode. The Electron main process, `chaoscope serve` and the foreground
 * `chaoscope up` all run one of these; everything else talks to it through the API.
 *
 * Start: take the per-user lock → settings → telemetry → find and adopt a running cluster
 * (thaw it, roll back its faults) → web mode → write the state file the CLI reads.
 * Close: stop watching → thaw paused services, roll back faults (optionally take the cluster
 * down) → close web mode and telemetry → remove the state file → release the lock.
 */
import { join } from 'node:path';
import { SERVICE_NAMES } from '../api/schemas.ts';
import type { ChaosMarkerInfo } from '../api/chaos.ts';
import { API_VERSION } from '../api/version.ts';
import type { InvokeResult } from '../api/errors.ts';
import type { EventBatch } from '../api/events.ts';
import {
  createRuntime as defaultCreateRuntime,
  type RuntimeFactoryOptions,
} from '../../sample-cluster/runtime/select.ts';
import type { ClusterRuntime, RuntimeKind } from '../../sample-cluster/runtime/types.ts';
import { preferredOrNextFreePort } from '../../sample-cluster/runtime/process/ports.ts';
import { rollBackChaos } from './adoption.ts';
import { appVersion } from './app-version.ts';
import { containerTelemetryBridge } from './bridge-relay.ts';
import { ChaosEngine, type RecoveryReport } from './chaos/engine.ts';
import { openScheduler } from './schedules.ts';
import { ClusterAccess } from './cluster-access.ts';
import { liveChaosPorts, liveExperimentPorts } from './cluster-chaos.ts';
import { createExperiments } from './experiments/index.ts';
import type { ControlContext } from './context.ts';
import { createDispatcher, type Dispatcher, type Handlers, type InvokeContext } from './dispatcher.ts';
import { EventBus } from './event-bus.ts';
import { FaultTracker } from './fault-tracker.ts';
import { authHandlers } from './handlers/auth.ts';
import { chaosHandlers } from './handlers/chaos.ts';
import { engineHandlers } from './handlers/engine.ts';
import { experimentsHandlers } from './handlers/experiments.ts';
import { insightHandlers } from './handlers/insight.ts';
import { clusterHandlers } from './handlers/cluster.ts';
import { systemHandlers } from './handlers/system.ts';
import { telemetryHandlers } from './handlers/telemetry.ts';
import { controlPaths, controlPathsFor, type ControlPaths } from './paths.ts';
import { PauseManager } from './pauses.ts';
import { SettingsStore } from './settings-store.ts';
import { InstanceLock, removeControlState, writeControlState, type ControlMode } from './state-file.ts';
import { startTelemetryPipeline, type TelemetryPipeline } from './telemetry-pipeline.ts';
import { DEFAULT_INTERVALS, Watchers, type WatcherIntervals } from './watchers.ts';
import { newToken } from './web/guard.ts';
import { startWebServer, type WebServer } from './web/server.ts';

export interface ControlPlaneOptions {
  /** Default: CHAOSCOPE_HOME of `env`. */
  readonly home?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Web mode on this port (0: any free one); omit for no web mode (the Electron app uses IPC). */
  readonly webPort?: number;
  /** Take the next free port when `webPort` is busy (the default dashboard port), instead of failing. */
  readonly webPortFallback?: boolean;
  /** How it was started, recorded in the state file. Default `serve`. */
  readonly mode?: ControlMode;
  /** Which engine drives the cluster; tests give one with their own services. */
  readonly createRuntime?: (kind: RuntimeKind, options: RuntimeFactoryOptions) => ClusterRuntime;
  /** Where the built dashboard is (tests). */
  readonly distDir?: string;
  readonly batchIntervalMs?: number;
  readonly watchIntervals?: Partial<WatcherIntervals>;
  /** Called when a client asked the control plane to stop (`system.shutdown`). */
  readonly onShutdownRequest?: (stopCluster: boolean) => void;
}

export interface ControlPlane {
  readonly paths: ControlPaths;
  /** Web mode's base URL (no token), or null without web mode. */
  readonly url: string | null;
  /** The per-run access token of web mode (and of the state file). */
  readonly token: string;
  readonly collectorUrl: string;
  /** What happened at start: busy ports, an adopted cluster, faults rolled back. */
  readonly notices: readonly string[];
  invoke(name: string, input: unknown, ctx?: InvokeContext): Promise<InvokeResult>;
  subscribe(listener: (batch: EventBatch) => void): () => void;
  /** Stop; with `stopCluster`, take the cluster down first. Safe to call twice. */
  close(options?: { stopCluster?: boolean }): Promise<void>;
}

export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const env = options.env ?? process.env;
  const paths = options.home ? controlPathsFor(options.home) : controlPaths(env);
  const lock = new InstanceLock(paths);
  await lock.acquire();
  const undo: (() => Promise<void>)[] = [() => lock.release()];
  const unwind = async () => {
    for (const step of undo.reverse()) await step().catch(() => undefined);
  };
  try {
    const settings = await SettingsStore.open(paths.settingsFile);
    const initial = settings.get();
    const telemetry: TelemetryPipeline = await startTelemetryPipeline({
      dir: paths.telemetryDir,
      otlpPort: initial.otlpPort,
      jaegerPort: initial.jaegerPort,
      retention: initial.retention,
    });
    undo.push(() => telemetry.close());
    const notices: string[] = [...telemetry.notices];
    const otel: Record<string, string> = {
      OTEL_EXPORTER: initial.exporter,
      OTEL_EXPORTER_OTLP_ENDPOINT: telemetry.collector.otlpUrl,
      OTEL_EXPORTER_JAEGER_ENDPOINT: telemetry.collector.jaegerUrl,
      OTEL_METRIC_EXPORT_INTERVAL: '1000',
    };
    const serviceEnv = Object.fromEntries(SERVICE_NAMES.map((name) => [name, otel]));
    const create = options.createRuntime ?? defaultCreateRuntime;
    const bus = new EventBus({
      ...(options.batchIntervalMs !== undefined ? { intervalMs: options.batchIntervalMs } : {}),
      onActive: (active) => (active ? watchers.start() : watchers.stop()),
    });
    const pauses = new PauseManager((message) =>
      bus.publish('control.notice', { level: 'error', message, at: new Date().toISOString() }),
    );
    const cluster = new ClusterAccess({
      factory: (kind) => create(kind, { env, home: paths.home, serviceEnv }),
      collectorUrl: () => telemetry.collector.otlpUrl,
      pausedUntil: (id) => pauses.pausedUntil(id),
    });
    // The engine reads its journal first: chaos a crashed control plane left is undone before
    // anything else acts on the cluster.
    const onMarker = (marker: ChaosMarkerInfo) => {
      bus.publish('chaos.marker', marker);
      void telemetry.recordMarker(marker).catch(() => undefined);
    };
    const { engine: chaos, recovery } = await ChaosEngine.open({
      ports: liveChaosPorts(cluster, (marker) => onMarker({ ...marker, services: [...marker.services] })),
      directory: join(paths.home, 'chaos'),
    });
    undo.push(async () => chaos.close());
    // Instances frozen by the engine's pause faults are paused for the status and the pollers too.
    pauses.alsoPausedBy((id) => chaos.pausedUntil(id));
    notices.push(...recoveryNotices(recovery));
    const offChaos = chaos.on('change', (record) =>
      bus.publish('chaos.fault', {
        ...record,
        plan: [...record.plan],
        services: [...record.services],
        instances: [...record.instances],
      }),
    );
    undo.push(async () => offChaos());
    const experiments = createExperiments({
      ports: liveExperimentPorts(cluster, chaos, telemetry),
      home: paths.home,
    });
    // Runs after the engine's close is queued, so it goes first: a run's rollbacks need the engine.
    undo.push(() => experiments.close());
    const schedules = openScheduler({ engine: chaos, experiments, cluster, bus, home: paths.home, notices });
    // Queued last, so it stops first: nothing new starts while the rest shuts down.
    undo.push(() => schedules.stop());
    for (const run of await experiments.recover().catch(() => []))
      notices.push(
        `finished experiment run ${run.runId} (${run.title}) a previous control plane left; report: ${run.report}`,
      );
    const bridge = containerTelemetryBridge(env, () => [
      telemetry.collector.otlpUrl,
      telemetry.collector.jaegerUrl,
    ]);
    undo.push(() => bridge.close());
    const ensureContainerTelemetry = () => bridge.ensure();
    let web: WebServer | null = null;
    let shutdownRequested = false;
    const ctx: ControlContext = {
      paths,
      settings,
      telemetry,
      bus,
      cluster,
      pauses,
      faults: new FaultTracker(bus),
      chaos,
      experiments,
      schedules,
      notices,
      startedAt: new Date().toISOString(),
      dashboardUrl: () => web?.url ?? null,
      observeCluster: (status) => watchers.observe(status),
      ensureContainerTelemetry,
      requestShutdown: (stopCluster) => {
        if (shutdownRequested) return;
        shutdownRequested = true;
        // After the answer has gone out.
        setTimeout(() => options.onShutdownRequest?.(stopCluster), 50).unref();
      },
    };
    const watchers = new Watchers(ctx, { ...DEFAULT_INTERVALS, ...options.watchIntervals });
    undo.push(async () => {
      watchers.stop();
      bus.close();
    });

    // Adoption: whatever chaos the previous control plane left is undone before anyone can look.
    const adopted = await rollBackChaos(cluster, { thaw: true });
    if (adopted) {
      if (adopted.runtime !== 'process') {
        const problem = await ensureContainerTelemetry();
        if (problem) notices.push(problem);
      }
      notices.push(
        `adopted the running ${adopted.runtime} cluster ${adopted.clusterId}` +
          (adopted.faultsRemoved > 0 ? `; rolled back ${adopted.faultsRemoved} fault(s) left behind` : '') +
          (adopted.unreachable.length > 0 ? `; could not reach ${adopted.unreachable.join(', ')}` : ''),
      );
    }

    const handlers: Handlers = {
      ...clusterHandlers(ctx),
      ...chaosHandlers(ctx),
      ...telemetryHandlers(ctx),
      ...systemHandlers(ctx),
      ...engineHandlers(ctx),
      ...authHandlers(ctx),
      ...experimentsHandlers(ctx),
      ...insightHandlers(ctx),
    };
    const dispatcher: Dispatcher = createDispatcher(handlers, {
      onInternalError: (name, error) =>
        bus.publish('control.notice', {
          level: 'error',
          message: `${name} failed inside the control plane: ${error instanceof Error ? error.message : String(error)}`,
          at: new Date().toISOString(),
        }),
    });

    const token = newToken();
    if (options.webPort !== undefined) {
      const listen = (port: number) =>
        startWebServer({
          dispatcher,
          bus,
          token,
          port,
          ...(options.distDir ? { distDir: options.distDir } : {}),
        });
      const server = options.webPortFallback
        ? await listenFromPort(options.webPort, listen)
        : await listen(options.webPort);
      web = server;
      undo.push(() => server.close());
      await writeControlState(paths, {
        pid: process.pid,
        url: server.url,
        token,
        startedAt: ctx.startedAt,
        version: appVersion(),
        apiVersion: API_VERSION,
        mode: options.mode ?? 'serve',
      });
      undo.push(() => removeControlState(paths));
    }

    schedules.start();
    let closing: Promise<void> | null = null;
    return {
      paths,
      url: web?.url ?? null,
      token,
      collectorUrl: telemetry.collector.otlpUrl,
      notices,
      invoke: (name, input, invokeCtx) => dispatcher.invoke(name, input, invokeCtx),
      subscribe: (listener) => bus.subscribe(listener),
      close(closeOptions = {}) {
        closing ??= (async () => {
          await schedules.stop();
          watchers.stop();
          // No fault of the engine outlives the control plane (the journal covers a crash).
          await chaos.resetAll('the control plane stopped').catch(() => undefined);
          await pauses.resumeAll();
          if (closeOptions.stopCluster) {
            await dispatcher.invoke('cluster.down', { volumes: false });
          } else {
            // No chaos outlives the control plane that was showing it.
            await rollBackChaos(cluster, { thaw: false }).catch(() => undefined);
          }
          await unwind();
        })();
        return closing;
      },
    };
  } catch (error) {
    await unwind();
    throw error;
  }
}

/** What the chaos engine's start-up found of a previous control plane's faults, one line each. */
function recoveryNotices(recovery: RecoveryReport): string[] {
  const notices: string[] = [];
  if (recovery.rolledBack.length > 0)
    notices.push(`rolled back ${recovery.rolledBack.length} fault(s) a previous control plane left active`);
  for (const failure of recovery.failures)
    notices.push(
      `could not roll back fault ${failure.id} left by a previous control plane: ${failure.error}`,
    );
  if (recovery.unreadableJournal)
    notices.push(`the chaos journal was unreadable: ${recovery.unreadableJournal}`);
  return notices;
}

/** Listen on `first`, or on the next free port after it (port 0: any free one, as asked). */
async function listenFromPort(
  first: number,
  listen: (port: number) => Promise<WebServer>,
): Promise<WebServer> {
  if (first === 0) return listen(0);
  // Probing first and listening later races other programs: on EADDRINUSE, the next port.
  for (let port = first; ; port++) {
    try {
      return await listen(await preferredOrNextFreePort(port));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || port > first + 50) throw error;
    }
  }
}
