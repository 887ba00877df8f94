import { readFileSync } from 'node:fs';

const ID = /[0-9a-f]{64}/;

/**
 * The id of the container this process runs in, or null outside one. cgroup v1 names it in
 * /proc/self/cgroup (".../docker/<id>", "docker-<id>.scope", "cri-containerd-<id>"); under cgroup v2
 * that file says only "0::/", but Docker's bind mounts of the container's hostname and resolv.conf
 * still carry it in /proc/self/mountinfo.
 */
export function detectContainerId(read: (path: string) => string = readProc): string | null {
  return fromCgroup(read('/proc/self/cgroup')) ?? fromMountinfo(read('/proc/self/mountinfo'));
}

export function fromCgroup(text: string): string | null {
  for (const line of text.split('\n')) {
    const path = line.slice(line.indexOf(':', line.indexOf(':') + 1) + 1);
    const last = path.split('/').pop() ?? '';
    const id = ID.exec(last)?.[0];
    if (id) return id;
  }
  return null;
}

export function fromMountinfo(text: string): string | null {
  for (const line of text.split('\n')) {
    const match = /\/containers\/([0-9a-f]{64})\/(?:hostname|hosts|resolv\.conf)\b/.exec(line);
    if (match?.[1]) return match[1];
  }
  return null;
}

function readProc(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return ''; // not Linux, or /proc hidden: no container id to report
  }
}
