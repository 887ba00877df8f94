/**
 * The Node binary a registry-free base image is made of: which file, which CPU it is for, and the
 * shared libraries it links (from `ldd`, the dynamic loader's own answer). No registry is needed:
 * the project already ships a Linux Node 22 through the `node` devDependency.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Docker's names for CPU architectures, by ELF e_machine. */
const ELF_MACHINES: Readonly<Record<number, string>> = {
  0x3e: 'amd64',
  0xb7: 'arm64',
  0x28: 'arm',
  0xf3: 'riscv64',
  0x15: 'ppc64le',
  0x16: 's390x',
};

export interface NodeBinary {
  readonly path: string;
  /** Docker architecture name (amd64, arm64, …). */
  readonly arch: string;
  /** Absolute paths of the libraries it links, the dynamic loader included. */
  readonly libraries: readonly string[];
}

/**
 * The Linux Node binary for images: an explicit one, else the project's `node` devDependency,
 * else the Node running this code when it is a Linux ELF (never Electron's binary).
 */
export function findNodeBinary(repoRoot: string, explicit?: string): string | undefined {
  const candidates = [
    explicit,
    join(repoRoot, 'node_modules', 'node', 'bin', 'node'),
    process.versions.electron ? undefined : process.execPath,
  ];
  return candidates.find((c): c is string => !!c && existsSync(c));
}

/** The CPU an ELF file is for, or null when it is no ELF (a macOS or Windows binary). */
export async function elfArchitecture(file: string): Promise<string | null> {
  const handle = await open(file, 'r');
  try {
    const head = Buffer.alloc(20);
    const { bytesRead } = await handle.read(head, 0, 20, 0);
    if (bytesRead < 20 || head.readUInt32BE(0) !== 0x7f454c46) return null;
    const machine = head[5] === 2 ? head.readUInt16BE(18) : head.readUInt16LE(18);
    return ELF_MACHINES[machine] ?? `elf-${machine}`;
  } finally {
    await handle.close();
  }
}

/**
 * Library paths from `ldd` output. Lines look like `libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6
 * (0x…)` or `/lib64/ld-linux-x86-64.so.2 (0x…)`; the vDSO has no file and is skipped. A library
 * ldd cannot find is an error: an image without it could never start Node.
 */
export function parseLdd(output: string): string[] {
  const libraries: string[] = [];
  for (const raw of output.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('linux-vdso') || line.startsWith('linux-gate')) continue;
    if (line.includes('=> not found')) throw new Error(`ldd: ${line.split(' ')[0]} not found`);
    const arrow = line.indexOf('=>');
    const path = (arrow >= 0 ? line.slice(arrow + 2) : line).trim().split(/\s+/)[0];
    if (path?.startsWith('/')) libraries.push(path);
  }
  return [...new Set(libraries)];
}

export async function inspectNodeBinary(path: string): Promise<NodeBinary> {
  const arch = await elfArchitecture(path);
  if (!arch) throw new Error(`${path} is not a Linux (ELF) binary`);
  const info = await stat(path);
  if (!info.isFile()) throw new Error(`${path} is not a file`);
  const { stdout } = await run('ldd', [path], { timeout: 10_000 });
  return { path, arch, libraries: parseLdd(stdout) };
}
