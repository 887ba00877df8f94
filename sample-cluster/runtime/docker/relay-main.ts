/**
 * Loaded with `node --import` before a service inside a container (loadgen). The service calls
 * PUBLIC_URL, http://127.0.0.1:<gateway port>, because that is the issuer every token names; in a
 * container that loopback address is the container itself. This relay listens there and forwards
 * each connection to the gateway on the cluster network, so the URL means the same everywhere.
 *
 * CHAOSCOPE_RELAY=<listen host>:<port>=<target host>:<port>; no variable, no relay.
 */
import { connect, createServer } from 'node:net';

const spec = process.env.CHAOSCOPE_RELAY;
if (spec) {
  const match = /^([^:=\s]+):(\d+)=([^:=\s]+):(\d+)$/.exec(spec);
  if (!match) throw new Error(`CHAOSCOPE_RELAY must be host:port=host:port, got "${spec}"`);
  const [, listenHost, listenPort, targetHost, targetPort] = match;
  const server = createServer((client) => {
    const upstream = connect({ host: targetHost!, port: Number(targetPort) });
    client.pipe(upstream).pipe(client);
    // Either side failing ends both; an unhandled socket error would kill the service.
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', end);
    upstream.on('close', end);
  });
  // The relay must not keep a draining service alive.
  server.unref();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: listenHost!, port: Number(listenPort) }, resolve);
  });
}
