/** Download a trace as OTLP JSON (the format every OpenTelemetry tool imports). */
import { api } from '../../api/index.ts';

export async function downloadTraceAsOtlp(traceId: string): Promise<string> {
  const result = await api.traces.export({ traceId, format: 'otlp-json' });
  const name = `trace-${result.traceId}.otlp.json`;
  const blob = new Blob([JSON.stringify(result.data, null, 2)], { type: 'application/json' });
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  // Give the browser a moment to start the download before the URL goes.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return name;
}
