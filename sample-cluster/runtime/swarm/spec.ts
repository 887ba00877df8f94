/**
 * What a tweet-cluster service looks like as a Swarm service: the same image, environment,
 * limits and hardening as a docker-runtime container (docker/spec.ts), with what Swarm changes:
 * - instances are tasks, named by slot: `timeline-2` is slot 2 (Swarm's own templates fill the
 *   variables in each task), and each task advertises its task name, which Swarm's DNS resolves on
 *   the overlay network;
 * - the service name is a network alias of every task with DNS round robin (`dnsrr`), which works
 *   where the overlay's virtual IP does not, and is what DNS discovery expects;
 * - the gateway is published in host mode (ingress needs a VIP);
 * - nothing restarts a task by itself (restart condition `none`): chaos must stay visible.
 */
import type Docker from 'dockerode';
import type { ServiceSpec } from '../../cluster.ts';
import { APP_DIR, DATA_DIR, SERVICE_PORT, SERVICE_USER } from '../images/build.ts';
import { LABEL, names } from '../docker/labels.ts';
import { HOST_ALIAS, containerEnv, healthcheck, serviceCommand, type ClusterFacts } from '../docker/spec.ts';

const MiB = 1024 * 1024;
const NANOS_PER_SECOND = 1_000_000_000;

export interface SwarmFacts extends ClusterFacts {
  /** The address containers reach this machine at (the default bridge's gateway). */
  readonly hostAddress: string;
}

export const swarmNames = {
  network: (clusterId: string) => `chaoscope-${clusterId}-swarm`,
  service: (clusterId: string, service: string) => `chaoscope-${clusterId}-${service}`,
};

/** `timeline-{{.Task.Slot}}`: Swarm fills the slot in per task. */
export function instanceTemplate(service: string): string {
  return `${service}-{{.Task.Slot}}`;
}

export function swarmEnv(facts: SwarmFacts, spec: ServiceSpec): string[] {
  const env = containerEnv(facts, { spec, instanceId: instanceTemplate(spec.name), hostPort: 0 });
  return env.map((entry) =>
    entry.startsWith('ADVERTISE_ADDRESS=')
      ? `ADVERTISE_ADDRESS={{.Task.Name}}:${SERVICE_PORT}`
      : entry.startsWith('CHAOSCOPE_INSTANCE_ID=')
        ? `CHAOSCOPE_INSTANCE_ID=${instanceTemplate(spec.name)}`
        : entry,
  );
}

export function swarmLabels(facts: SwarmFacts, service: string): Record<string, string> {
  return {
    [LABEL.cluster]: facts.clusterId,
    [LABEL.service]: service,
    [LABEL.home]: facts.homeHash,
    [LABEL.runtime]: 'swarm',
  };
}

export function serviceCreateOptions(
  facts: SwarmFacts,
  spec: ServiceSpec,
  replicas: number,
): Docker.CreateServiceOptions {
  const labels = swarmLabels(facts, spec.name);
  return {
    Name: swarmNames.service(facts.clusterId, spec.name),
    Labels: labels,
    TaskTemplate: {
      ContainerSpec: {
        Image: facts.image,
        Command: serviceCommand(spec),
        Env: swarmEnv(facts, spec),
        Labels: labels,
        Hostname: instanceTemplate(spec.name),
        User: SERVICE_USER,
        Dir: APP_DIR,
        ReadOnly: true,
        Init: true,
        CapabilityDrop: ['ALL'],
        StopSignal: 'SIGTERM',
        StopGracePeriod: 10 * NANOS_PER_SECOND,
        HealthCheck: healthcheck(),
        Hosts: [`${facts.hostAddress} ${HOST_ALIAS}`],
        // Only the service's own volume and a small /tmp; never the Docker socket or a host path.
        Mounts: [
          ...(spec.stateful
            ? [
                {
                  Type: 'volume' as const,
                  Source: names.volume(facts.clusterId, spec.name),
                  Target: DATA_DIR,
                  VolumeOptions: {
                    NoCopy: false,
                    Labels: labels,
                    DriverConfig: { Name: 'local', Options: {} },
                  },
                },
              ]
            : []),
          {
            Type: 'tmpfs' as const,
            Source: '',
            Target: '/tmp',
            TmpfsOptions: { SizeBytes: 16 * MiB, Mode: 0o1777 },
          },
        ],
      },
      Resources: { Limits: { MemoryBytes: spec.memoryMb * MiB } },
      RestartPolicy: { Condition: 'none' },
      Networks: [{ Target: facts.network, Aliases: [spec.name] }],
      LogDriver: { Name: 'json-file', Options: { 'max-size': '10m', 'max-file': '2' } },
    },
    Mode: { Replicated: { Replicas: replicas } },
    UpdateConfig: { Parallelism: 1, Order: 'stop-first', FailureAction: 'continue' },
    EndpointSpec: {
      Mode: 'dnsrr',
      ...(spec.publicPort !== undefined
        ? {
            Ports: [
              {
                Protocol: 'tcp',
                TargetPort: SERVICE_PORT,
                PublishedPort: facts.gatewayPort,
                PublishMode: 'host',
              },
            ],
          }
        : {}),
    },
  };
}
