import { describe, expect, it } from 'vitest';
import { CLUSTER_SPEC, serviceSpec } from '../../cluster.ts';
import { LABEL } from '../docker/labels.ts';
import { serviceCreateOptions, swarmEnv, type SwarmFacts } from './spec.ts';

const facts: SwarmFacts = {
  clusterId: 'c0ffee000002',
  homeHash: 'abcdefabcdef',
  network: 'chaoscope-c0ffee000002-swarm',
  image: 'chaoscope/services:0123456789abcdef',
  adminToken: 'admin-token-0123456789abcdef',
  gatewayPort: 18380,
  logLevel: 'warn',
  serviceEnv: { gateway: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' } },
  inheritedEnv: {},
  trust: {
    clusterId: 'c0ffee000002',
    caCertPem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
    caKeyPem: '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n',
    enrollSecret: 'enroll-secret-0123456789abcdef',
  },
  hostAddress: '172.17.0.1',
};
const envOf = (lines: string[]) =>
  Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));

describe('a service as a Swarm service', () => {
  it('names each task by its slot and advertises the task name Swarm resolves', () => {
    const env = envOf(swarmEnv(facts, serviceSpec('timeline')));
    expect(env.CHAOSCOPE_INSTANCE_ID).toBe('timeline-{{.Task.Slot}}');
    expect(env.ADVERTISE_ADDRESS).toBe('{{.Task.Name}}:8000');
    expect(env.REGISTRY_URL).toBe('http://registry:8000');
  });

  it('sends telemetry meant for this machine to the host through the bridge address', () => {
    const options = serviceCreateOptions(facts, serviceSpec('gateway'), 1);
    const spec = options.TaskTemplate as { ContainerSpec: { Env: string[]; Hosts: string[] } };
    expect(envOf(spec.ContainerSpec.Env).OTEL_EXPORTER_OTLP_ENDPOINT).toBe(
      'http://host.docker.internal:4318',
    );
    expect(spec.ContainerSpec.Hosts).toEqual(['172.17.0.1 host.docker.internal']);
  });

  it('is hardened, labelled, limited, never restarted by Swarm, and reachable by DNS round robin', () => {
    for (const service of CLUSTER_SPEC) {
      const options = serviceCreateOptions(facts, service, 1);
      const task = options.TaskTemplate as {
        ContainerSpec: {
          ReadOnly: boolean;
          CapabilityDrop: string[];
          User: string;
          Mounts: Array<{ Type: string; Source: string }>;
          Labels: Record<string, string>;
        };
        Resources: { Limits: { MemoryBytes: number } };
        RestartPolicy: { Condition: string };
      };
      expect(task.ContainerSpec.ReadOnly, service.name).toBe(true);
      expect(task.ContainerSpec.CapabilityDrop).toEqual(['ALL']);
      expect(task.ContainerSpec.User).not.toBe('root');
      expect(task.ContainerSpec.Mounts.every((m) => m.Type === 'volume' || m.Type === 'tmpfs')).toBe(true);
      expect(JSON.stringify(task.ContainerSpec.Mounts)).not.toContain('docker.sock');
      expect(task.ContainerSpec.Labels[LABEL.cluster]).toBe(facts.clusterId);
      expect(task.ContainerSpec.Labels[LABEL.runtime]).toBe('swarm');
      expect(task.Resources.Limits.MemoryBytes).toBe(service.memoryMb * 1024 * 1024);
      expect(task.RestartPolicy.Condition).toBe('none');
      expect(options.EndpointSpec?.Mode).toBe('dnsrr');
      expect(options.Labels?.[LABEL.service]).toBe(service.name);
    }
  });

  it('publishes only the gateway, in host mode', () => {
    const published = CLUSTER_SPEC.filter((s) => serviceCreateOptions(facts, s, 1).EndpointSpec?.Ports);
    expect(published.map((s) => s.name)).toEqual(['gateway']);
    expect(serviceCreateOptions(facts, serviceSpec('gateway'), 1).EndpointSpec?.Ports?.[0]).toMatchObject({
      PublishedPort: 18380,
      PublishMode: 'host',
    });
  });
});
