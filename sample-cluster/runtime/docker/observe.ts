/**
 * Turning the engine's raw answers into what a user reads: container stats into CPU %, memory and
 * network bytes; the multiplexed log stream (8-byte frame headers, stdout and stderr interleaved)
 * into lines. Pure, so both are tested on recorded payloads.
 */

export interface ContainerStats {
  readonly instanceId: string;
  /** Of one CPU: 150 means one and a half cores busy. */
  readonly cpuPercent: number;
  /** Working set: usage less reclaimable page cache, what `docker stats` shows. */
  readonly memoryBytes: number;
  readonly memoryLimitBytes: number;
  readonly networkRxBytes: number;
  readonly networkTxBytes: number;
  /** ISO 8601, the engine's sample time. */
  readonly at: string;
}

/** The fields of the engine's stats document we read (cgroup v1 and v2). */
export interface RawStats {
  read?: string;
  cpu_stats?: {
    cpu_usage?: { total_usage?: number; percpu_usage?: number[] };
    system_cpu_usage?: number;
    online_cpus?: number;
  };
  precpu_stats?: { cpu_usage?: { total_usage?: number }; system_cpu_usage?: number };
  memory_stats?: { usage?: number; limit?: number; stats?: Record<string, number> };
  networks?: Record<string, { rx_bytes?: number; tx_bytes?: number }>;
}

export function computeStats(instanceId: string, raw: RawStats): ContainerStats {
  const cpu = raw.cpu_stats;
  const pre = raw.precpu_stats;
  const cpuDelta = (cpu?.cpu_usage?.total_usage ?? 0) - (pre?.cpu_usage?.total_usage ?? 0);
  const systemDelta = (cpu?.system_cpu_usage ?? 0) - (pre?.system_cpu_usage ?? 0);
  const cpus = cpu?.online_cpus ?? cpu?.cpu_usage?.percpu_usage?.length ?? 1;
  const cpuPercent = cpuDelta > 0 && systemDelta > 0 ? (cpuDelta / systemDelta) * cpus * 100 : 0;
  const memory = raw.memory_stats;
  const stats = memory?.stats ?? {};
  // cgroup v1 reports total_inactive_file, v2 inactive_file; `docker stats` subtracts it.
  const cache = stats.total_inactive_file ?? stats.inactive_file ?? 0;
  const usage = memory?.usage ?? 0;
  let rx = 0;
  let tx = 0;
  for (const net of Object.values(raw.networks ?? {})) {
    rx += net.rx_bytes ?? 0;
    tx += net.tx_bytes ?? 0;
  }
  return {
    instanceId,
    cpuPercent: Math.round(cpuPercent * 100) / 100,
    memoryBytes: Math.max(0, usage - (cache < usage ? cache : 0)),
    memoryLimitBytes: memory?.limit ?? 0,
    networkRxBytes: rx,
    networkTxBytes: tx,
    at: raw.read ?? new Date().toISOString(),
  };
}

export interface LogLine {
  readonly instanceId: string;
  readonly stream: 'stdout' | 'stderr';
  readonly text: string;
}

/**
 * Incremental parser for the engine's multiplexed stream: feed chunks as they come, get whole lines
 * back; a frame or a line split across chunks is kept until its end arrives.
 */
export class LogDemuxer {
  readonly #instanceId: string;
  #pending: Buffer = Buffer.alloc(0);
  readonly #partial: Record<'stdout' | 'stderr', string> = { stdout: '', stderr: '' };

  constructor(instanceId: string) {
    this.#instanceId = instanceId;
  }

  push(chunk: Buffer): LogLine[] {
    this.#pending = this.#pending.length ? Buffer.concat([this.#pending, chunk]) : chunk;
    const lines: LogLine[] = [];
    while (this.#pending.length >= 8) {
      const type = this.#pending[0];
      const size = this.#pending.readUInt32BE(4);
      if (this.#pending.length < 8 + size) break;
      const payload = this.#pending.subarray(8, 8 + size).toString('utf8');
      this.#pending = this.#pending.subarray(8 + size);
      const stream = type === 2 ? 'stderr' : 'stdout';
      const text = this.#partial[stream] + payload;
      const parts = text.split('\n');
      this.#partial[stream] = parts.pop() ?? '';
      for (const part of parts) lines.push({ instanceId: this.#instanceId, stream, text: part });
    }
    return lines;
  }

  /** What is left without a newline at the end of the stream. */
  flush(): LogLine[] {
    const lines: LogLine[] = [];
    for (const stream of ['stdout', 'stderr'] as const) {
      if (this.#partial[stream])
        lines.push({ instanceId: this.#instanceId, stream, text: this.#partial[stream] });
      this.#partial[stream] = '';
    }
    return lines;
  }
}
