/**
 * The app's settings, persisted as `<CHAOSCOPE_HOME>/settings.json` and validated on the way in
 * and out: a hand-edited file with a mistake is refused with the reason, never silently reset.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ApiError, describeIssues } from '../api/errors.ts';
import {
  appSettingsPatchSchema,
  appSettingsSchema,
  type AppSettings,
  type AppSettingsPatch,
} from '../api/schemas.ts';

/** Settings read once at start by the parts they configure, so a change waits for a restart. */
const APPLY_ON_RESTART: Partial<Record<keyof AppSettings, string>> = {
  otlpPort: 'otlpPort (the collector listens on it from the next start of the control plane)',
  jaegerPort: 'jaegerPort (from the next start of the control plane)',
  retention: 'retention (from the next start of the control plane)',
  exporter: 'exporter (from the next `up` of a new cluster)',
  gatewayPort: 'gatewayPort (from the next `up` of a new cluster)',
};

export class SettingsStore {
  readonly file: string;
  #current: AppSettings;

  private constructor(file: string, current: AppSettings) {
    this.file = file;
    this.#current = current;
  }

  static async open(file: string): Promise<SettingsStore> {
    let raw: unknown = {};
    try {
      raw = JSON.parse(await readFile(file, 'utf8'));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') {
        throw new ApiError('FAILED', `${file} is not valid JSON; fix or delete it`, [
          String((error as Error).message),
        ]);
      }
    }
    const parsed = appSettingsSchema.safeParse(raw);
    if (!parsed.success) {
      throw new ApiError(
        'FAILED',
        `${file} has invalid settings; fix or delete it`,
        describeIssues(parsed.error),
      );
    }
    return new SettingsStore(file, parsed.data);
  }

  get(): AppSettings {
    return structuredClone(this.#current);
  }

  async update(patch: AppSettingsPatch): Promise<{ settings: AppSettings; appliesOnRestart: string[] }> {
    const valid = appSettingsPatchSchema.parse(patch);
    const next = appSettingsSchema.parse({
      ...this.#current,
      ...valid,
      retention: { ...this.#current.retention, ...valid.retention },
    });
    const changed = (Object.keys(valid) as (keyof AppSettings)[]).filter(
      (key) => JSON.stringify(next[key]) !== JSON.stringify(this.#current[key]),
    );
    await mkdir(dirname(this.file), { recursive: true, mode: 0o700 });
    const temp = `${this.file}.${process.pid}.tmp`;
    await writeFile(temp, `${JSON.stringify(next, null, 2)}\n`, { mode: 0o600 });
    await rename(temp, this.file);
    this.#current = next;
    return {
      settings: this.get(),
      appliesOnRestart: changed.flatMap((key) => (APPLY_ON_RESTART[key] ? [APPLY_ON_RESTART[key]] : [])),
    };
  }
}
