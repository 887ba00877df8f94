/**
 * What a group of CLI verbs gets from the program: the API of the running control plane, output
 * that honours `--json`, colours, and the exit code. Each file in this folder adds one area's verbs.
 */
import type { Command } from 'commander';
import type { ChaoscopeApi } from '../../../api/client.ts';
import type { CliContext } from '../program.ts';
import type { painter } from '../output.ts';

export interface JsonOption {
  readonly json?: boolean;
}

export interface VerbTools {
  readonly ctx: CliContext;
  /** The running control plane's API, or NO_CONTROL_PLANE. */
  api(): Promise<ChaoscopeApi>;
  paint(): ReturnType<typeof painter>;
  /** One JSON object with `--json`, otherwise the human text. */
  print(options: JsonOption, value: unknown, human: () => string): void;
  setExit(code: number): void;
  /** Ctrl+C (or SIGTERM), or `until` settling, whichever comes first; dispose when done. */
  interrupted(until?: Promise<unknown>): { done: Promise<'signal' | 'other'>; dispose(): void };
}

export type VerbGroup = (program: Command, tools: VerbTools) => void;
