import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServiceClient } from '../../kit/service-client.ts';

/**
 * Relay the realtime service's Server-Sent Events to the user. The upstream request is torn down
 * as soon as the user goes away, so abandoned streams do not pile up in realtime.
 */
export async function openEventStream(
  client: ServiceClient,
  handle: string,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<void> {
  const abort = new AbortController();
  const upstream = await client.stream('realtime', {
    method: 'GET',
    path: `/v1/stream/${handle}`,
    headers: { accept: 'text/event-stream' },
    requestId: request.id,
    signal: abort.signal,
  });
  if (upstream.statusCode !== 200) {
    const text = await upstream.body.text();
    reply
      .code(upstream.statusCode)
      .type(String(upstream.headers['content-type'] ?? 'application/problem+json'));
    await reply.send(text);
    return;
  }
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    'x-request-id': request.id,
  });
  res.flushHeaders();
  const close = () => {
    abort.abort();
    upstream.body.destroy();
    res.end();
  };
  request.raw.on('close', close);
  upstream.body.on('error', close);
  upstream.body.on('end', close);
  upstream.body.pipe(res, { end: false });
}
