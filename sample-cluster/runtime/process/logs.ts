import { open } from 'node:fs/promises';

/** The last `lines` lines of a log, read from its end so a large log costs nothing. */
export async function tailLines(file: string, lines = 15, maxBytes = 16 * 1024): Promise<string[]> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch {
    return [];
  }
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, maxBytes);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    const text = buffer.toString('utf8').replace(/\s+$/, '');
    if (!text) return [];
    const all = text.split(/\r?\n/);
    // Reading from the middle of the file may cut the first line; drop it unless it is all we have.
    const whole = length < size && all.length > 1 ? all.slice(1) : all;
    return whole.slice(-lines);
  } finally {
    await handle.close();
  }
}
