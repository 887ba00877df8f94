/**
 * The instance's mutual-TLS listener: the same fastify routes as the plain one, reached over TLS
 * 1.3 with a cluster certificate. The certificate is swapped in place when the agent rotates it
 * (new connections get the new one, open ones finish), and connections of a certificate revoked
 * later are cut at once.
 */
import { createServer, type Server } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { FastifyInstance } from 'fastify';
import { normalizeSerial } from './identity.ts';
import type { TrustAgent } from './agent.ts';

export interface TlsListener {
  readonly port: number;
  close(): Promise<void>;
}

export async function openTlsListener(
  app: FastifyInstance,
  agent: TrustAgent,
  options: { host: string; port: number; allowUnauthenticated: boolean },
): Promise<TlsListener> {
  const material = agent.tlsMaterial();
  const server: Server = createServer(
    {
      key: material.key,
      cert: material.cert,
      ca: [material.ca],
      requestCert: true,
      // Only auth lets a certificate-less client in (to enroll); its routes check `authorized` themselves.
      rejectUnauthorized: !options.allowUnauthenticated,
      minVersion: 'TLSv1.3',
    },
    (req, res) => app.routing(req, res),
  );
  const bySerial = new Map<string, Set<TLSSocket>>();
  server.on('secureConnection', (socket: TLSSocket) => {
    // The authority (auth) keeps such connections: a withdrawn instance must still hear, on its
    // trust stream, that it was withdrawn, and may enroll again; every request is checked anyway.
    if (options.allowUnauthenticated) return;
    const peer = socket.getPeerCertificate();
    if (!peer?.serialNumber) return;
    const serial = normalizeSerial(peer.serialNumber);
    if (agent.isRevoked(serial)) {
      socket.destroy();
      return;
    }
    let set = bySerial.get(serial);
    if (!set) bySerial.set(serial, (set = new Set()));
    set.add(socket);
    socket.once('close', () => {
      set.delete(socket);
      if (set.size === 0) bySerial.delete(serial);
    });
  });
  server.on('tlsClientError', () => undefined);
  agent.onCertificate(({ keyPem, pem }) =>
    server.setSecureContext({ key: keyPem, cert: pem, ca: [material.ca], minVersion: 'TLSv1.3' }),
  );
  agent.onCertificateRevoked((serial) => {
    for (const socket of bySerial.get(normalizeSerial(serial)) ?? []) socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 2_000).unref();
      }),
  };
}
