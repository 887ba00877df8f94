/**
 * One dockerode client for the docker and swarm runtimes, pointed where the Docker CLI would point:
 * DOCKER_HOST (unix://, tcp:// with DOCKER_TLS_VERIFY / DOCKER_CERT_PATH, ssh://), else the local
 * socket. Read from an explicit environment so tests and the control plane can aim it elsewhere
 * without touching process.env.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { RuntimeError } from '../errors.ts';

export type EngineOptions = Docker.DockerOptions;

const DEFAULT_SOCKET = '/var/run/docker.sock';

/** What DOCKER_HOST and friends mean, as dockerode options (no file is read for plain hosts). */
export function engineOptions(env: NodeJS.ProcessEnv = process.env): EngineOptions {
  const host = env.DOCKER_HOST?.trim();
  if (!host) return { socketPath: DEFAULT_SOCKET };
  if (host.startsWith('unix://')) return { socketPath: host.slice('unix://'.length) || DEFAULT_SOCKET };
  let url: URL;
  try {
    url = new URL(host.includes('//') ? host : `tcp://${host}`);
  } catch {
    throw new RuntimeError(
      'ENGINE_UNAVAILABLE',
      `DOCKER_HOST="${host}" is not an address; use unix:///path, tcp://host:port or ssh://user@host`,
    );
  }
  if (url.protocol === 'ssh:') {
    return {
      protocol: 'ssh',
      host: url.hostname,
      port: url.port || 22,
      username: decodeURIComponent(url.username) || env.USER || 'root',
      ...(env.SSH_AUTH_SOCK ? { sshOptions: { agent: env.SSH_AUTH_SOCK } } : {}),
    };
  }
  if (url.protocol !== 'tcp:' && url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new RuntimeError('ENGINE_UNAVAILABLE', `DOCKER_HOST scheme ${url.protocol} is not supported`);
  }
  const tls = env.DOCKER_TLS_VERIFY === '1' || url.protocol === 'https:' || url.port === '2376';
  const options: EngineOptions = {
    protocol: tls ? 'https' : 'http',
    host: url.hostname,
    port: url.port || (tls ? 2376 : 2375),
  };
  if (tls) {
    const certs = env.DOCKER_CERT_PATH?.trim() || join(env.HOME?.trim() || homedir(), '.docker');
    try {
      options.ca = readFileSync(join(certs, 'ca.pem'));
      options.cert = readFileSync(join(certs, 'cert.pem'));
      options.key = readFileSync(join(certs, 'key.pem'));
    } catch (error) {
      throw new RuntimeError(
        'ENGINE_UNAVAILABLE',
        `DOCKER_HOST ${host} asks for TLS but the certificates in ${certs} are unreadable (${(error as Error).message})`,
      );
    }
  }
  return options;
}

/** A short human name for where the engine is, for messages ("unix:///var/run/docker.sock"). */
export function engineLabel(options: EngineOptions): string {
  if (options.socketPath) return `unix://${options.socketPath}`;
  return `${options.protocol ?? 'http'}://${options.host ?? '?'}:${options.port ?? '?'}`;
}

export function dockerClient(env: NodeJS.ProcessEnv = process.env): Docker {
  return new Docker(engineOptions(env));
}

/** Ping with a deadline: a dead TCP engine must not hang `auto` runtime selection. */
export async function pingEngine(docker: Docker, timeoutMs = 2_000): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      docker.ping().then(
        () => true,
        () => false,
      ),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
