import { promisify } from 'node:util';
import { gunzip, inflate } from 'node:zlib';

const gunzipAsync = promisify(gunzip);
const inflateAsync = promisify(inflate);

export type Encoding = 'protobuf' | 'json' | 'thrift';

const MEDIA_TYPES: Record<string, Encoding> = {
  'application/x-protobuf': 'protobuf',
  'application/protobuf': 'protobuf',
  'application/json': 'json',
  'application/x-thrift': 'thrift',
  'application/vnd.apache.thrift.binary': 'thrift',
};

/** The Content-Type a client should send for each encoding (named in 415 answers). */
export const MEDIA_TYPE_OF: Record<Encoding, string> = {
  protobuf: 'application/x-protobuf',
  json: 'application/json',
  thrift: 'application/x-thrift',
};

/** The encoding a Content-Type names, or null for one no receiver reads. */
export function encodingOf(contentType: string | undefined): Encoding | null {
  if (!contentType) return null;
  const media = contentType.split(';', 1)[0]!.trim().toLowerCase();
  return MEDIA_TYPES[media] ?? null;
}

/** A body problem with the HTTP status it is answered with. */
export class BodyError extends Error {
  readonly status: 400 | 413 | 415;
  constructor(status: 400 | 413 | 415, message: string) {
    super(message);
    this.status = status;
  }
}

/**
 * The body as the decoder needs it. zlib stops at `maxBytes` of output, so a gzip bomb costs at
 * most that much memory before it is answered 413; inflating runs on the thread pool, off the
 * event loop.
 */
export async function decodedBody(
  body: Buffer,
  contentEncoding: string | undefined,
  maxBytes: number,
): Promise<Buffer> {
  const coding = (contentEncoding ?? '').trim().toLowerCase();
  if (coding === '' || coding === 'identity') return body;
  if (coding !== 'gzip' && coding !== 'x-gzip' && coding !== 'deflate') {
    throw new BodyError(
      415,
      `unsupported Content-Encoding ${JSON.stringify(coding.slice(0, 40))}; use gzip or none`,
    );
  }
  try {
    const options = { maxOutputLength: maxBytes };
    return coding === 'deflate' ? await inflateAsync(body, options) : await gunzipAsync(body, options);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new BodyError(413, `body larger than ${maxBytes} bytes once decompressed`);
    }
    throw new BodyError(400, `invalid ${coding} body: ${(e as Error).message}`);
  }
}
