/**
 * The control plane's scheduler: the chaos engine's schedules over the running cluster, with
 * experiments run through the one-at-a-time experiments API and every change on the bus. A
 * schedules file that cannot be read is set aside (and said so) rather than keeping the control
 * plane from starting.
 */
import { renameSync } from 'node:fs';
import { join } from 'node:path';
import type { ChaosEngine } from './chaos/engine.ts';
import { Scheduler } from './chaos/schedules.ts';
import type { ClusterAccess } from './cluster-access.ts';
import type { EventBus } from './event-bus.ts';
import type { Experiments } from './experiments/index.ts';

export interface OpenSchedulerOptions {
  readonly engine: ChaosEngine;
  readonly experiments: Experiments;
  readonly cluster: ClusterAccess;
  readonly bus: EventBus;
  readonly home: string;
  readonly notices: string[];
}

export function openScheduler(options: OpenSchedulerOptions): Scheduler {
  const file = join(options.home, 'chaos', 'schedules.json');
  const make = () =>
    new Scheduler({
      engine: options.engine,
      file,
      async instanceCount(service) {
        const found = await options.cluster.find();
        return found?.status.services.find((s) => s.name === service)?.instances.length ?? 0;
      },
      async runExperiment(ref, signal) {
        return { verdict: (await options.experiments.experimentRun(ref, { signal })).verdict };
      },
      onChange: (schedule) => options.bus.publish('schedule.changed', schedule),
      onRemove: (id) => options.bus.publish('schedule.removed', { id }),
    });
  try {
    return make();
  } catch (error) {
    const aside = `${file}.unreadable-${Date.now()}`;
    renameSync(file, aside);
    options.notices.push(
      `the schedules file could not be read (${(error as Error).message}); it was moved to ${aside} and no schedule runs`,
    );
    return make();
  }
}
