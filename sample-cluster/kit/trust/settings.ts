import { ConfigError, type BaseConfig } from '../config.ts';
import type { TrustSettings } from './agent.ts';

/** The trust settings of a service, or undefined when its environment asks for no trust at all. */
export function trustSettingsOf(config: BaseConfig): TrustSettings | undefined {
  if (!config.TRUST_CA_CERT) return undefined;
  if (!config.TRUST_ENROLL_TOKEN)
    throw new ConfigError('TRUST_ENROLL_TOKEN is required when TRUST_CA_CERT is set');
  return {
    service: config.CHAOSCOPE_SERVICE,
    instanceId: config.CHAOSCOPE_INSTANCE_ID,
    clusterId: config.CHAOSCOPE_CLUSTER_ID,
    caCertPem: config.TRUST_CA_CERT,
    enrollToken: config.TRUST_ENROLL_TOKEN,
    certTtlSeconds: config.TRUST_CERT_TTL_SECONDS,
    issuer: config.PUBLIC_URL.replace(/\/$/, ''),
    tlsPort: config.TRUST_TLS_PORT,
  };
}
