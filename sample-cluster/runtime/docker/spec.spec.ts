import { describe, expect, it } from 'vitest';
import { CLUSTER_SPEC, serviceSpec } from '../../cluster.ts';
import { baseConfigSchema } from '../../kit/config.ts';
import type { ClusterTrust } from '../pki.ts';
import {
  containerCreateOptions,
  containerEnv,
  hostUrlForContainers,
  inheritedContainerEnv,
  nextInstanceIds,
  type ClusterFacts,
} from './spec.ts';

const trust: ClusterTrust = {
  clusterId: 'c0ffee000001',
  caCertPem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
  caKeyPem: '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n',
  enrollSecret: 'enroll-secret-0123456789abcdef',
};
const facts: ClusterFacts = {
  clusterId: 'c0ffee000001',
  homeHash: 'abcdefabcdef',
  network: 'chaoscope-c0ffee000001',
  image: 'chaoscope/services:0123456789abcdef',
  adminToken: 'admin-token-0123456789abcdef',
  gatewayPort: 18080,
  logLevel: 'warn',
  serviceEnv: {
    gateway: { RATE_LIMIT_USER_RPS: '5', PORT: '1', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://localhost:4318' },
  },
  inheritedEnv: { OTEL_EXPORTER: 'otlp-proto' },
  trust,
};
const envOf = (lines: string[]) =>
  Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));

describe('a service instance as a container', () => {
  it('gets an environment the kit accepts, with its own address and the registry by name', () => {
    for (const spec of CLUSTER_SPEC) {
      const env = envOf(containerEnv(facts, { spec, instanceId: `${spec.name}-2`, hostPort: 40000 }));
      const parsed = baseConfigSchema.safeParse(env);
      expect(parsed.success, `${spec.name}: ${JSON.stringify(parsed.error?.issues)}`).toBe(true);
      expect(env).toMatchObject({
        HOST: '0.0.0.0',
        PORT: '8000',
        ADVERTISE_ADDRESS: `${spec.name}-2:8000`,
        REGISTRY_URL: 'http://registry:8000',
        PUBLIC_URL: 'http://127.0.0.1:18080',
        DATA_DIR: '/data',
        DNS_PORT: '8000',
      });
    }
  });

  it('lets settings add variables but never move the contract, and maps loopback URLs to the host', () => {
    const env = envOf(
      containerEnv(facts, { spec: serviceSpec('gateway'), instanceId: 'gateway-1', hostPort: 18080 }),
    );
    expect(env.RATE_LIMIT_USER_RPS).toBe('5');
    expect(env.PORT).toBe('8000');
    expect(env.OTEL_EXPORTER).toBe('otlp-proto');
    expect(env.OTEL_EXPORTER_OTLP_ENDPOINT).toBe('http://host.docker.internal:4318');
  });

  it('gives the CA key to auth alone, and the relay to loadgen alone', () => {
    const auth = envOf(containerEnv(facts, { spec: serviceSpec('auth'), instanceId: 'auth-1', hostPort: 1 }));
    const users = envOf(
      containerEnv(facts, { spec: serviceSpec('users'), instanceId: 'users-1', hostPort: 1 }),
    );
    const loadgen = envOf(
      containerEnv(facts, { spec: serviceSpec('loadgen'), instanceId: 'loadgen-1', hostPort: 1 }),
    );
    expect(auth.TRUST_CA_KEY).toBe(trust.caKeyPem);
    expect(users.TRUST_CA_KEY).toBeUndefined();
    expect(users.TRUST_CA_CERT).toBe(trust.caCertPem);
    expect(users.TRUST_TLS_PORT).toBe('8443');
    expect(loadgen.CHAOSCOPE_RELAY).toBe('127.0.0.1:18080=gateway:8000');
    expect(users.CHAOSCOPE_RELAY).toBeUndefined();
  });

  it('is labelled, limited, unprivileged, loopback-published and never mounts the Docker socket', () => {
    for (const spec of CLUSTER_SPEC) {
      const options = containerCreateOptions(facts, { spec, instanceId: `${spec.name}-1`, hostPort: 41000 });
      const host = options.HostConfig!;
      expect(options.Labels).toMatchObject({
        'io.chaoscope.cluster': facts.clusterId,
        'io.chaoscope.service': spec.name,
        'io.chaoscope.instance': `${spec.name}-1`,
      });
      expect(host.Memory).toBe(spec.memoryMb * 1024 * 1024);
      expect(host.MemorySwap).toBe(host.Memory);
      expect(options.User).toBe('1000:1000');
      expect(host.ReadonlyRootfs).toBe(true);
      expect(host.CapDrop).toEqual(['ALL']);
      expect(host.RestartPolicy).toEqual({ Name: 'no' });
      expect(host.Binds ?? []).toEqual([]);
      expect(host.PortBindings).toEqual({ '8000/tcp': [{ HostIp: '127.0.0.1', HostPort: '41000' }] });
      expect(host.Mounts?.map((m) => [m.Type, m.Target])).toEqual(spec.stateful ? [['volume', '/data']] : []);
      expect(JSON.stringify(options)).not.toContain('docker.sock');
      expect(options.NetworkingConfig?.EndpointsConfig?.[facts.network]?.Aliases).toEqual([
        `${spec.name}-1`,
        spec.name,
      ]);
    }
  });
});

describe('URLs and names', () => {
  it('rewrites only loopback hosts', () => {
    expect(hostUrlForContainers('http://127.0.0.1:4318')).toBe('http://host.docker.internal:4318');
    expect(hostUrlForContainers('http://localhost/v1')).toBe('http://host.docker.internal/v1');
    expect(hostUrlForContainers('http://[::1]:14268/api/traces')).toBe(
      'http://host.docker.internal:14268/api/traces',
    );
    expect(hostUrlForContainers('http://127.0.0.10:1')).toBe('http://127.0.0.10:1');
    expect(hostUrlForContainers('http://collector:4318')).toBe('http://collector:4318');
    expect(hostUrlForContainers('five')).toBe('five');
  });

  it('passes telemetry settings from the caller, nothing else', () => {
    expect(
      inheritedContainerEnv({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://localhost:4318',
        PATH: '/bin',
        HOME: '/root',
      }),
    ).toEqual({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://host.docker.internal:4318',
    });
  });

  it('numbers new instances from the lowest free ordinal', () => {
    expect(nextInstanceIds('users', ['users-1', 'users-3'], 2)).toEqual(['users-2', 'users-4']);
    expect(nextInstanceIds('users', [], 1)).toEqual(['users-1']);
  });
});
