import { describe, expect, it } from 'vitest';
import { detectContainerId, fromCgroup, fromMountinfo } from './container-id.ts';

const ID = 'a'.repeat(12) + '0123456789abcdef'.repeat(3) + 'b'.repeat(4);

describe('container id', () => {
  it('reads cgroup v1 paths of Docker, systemd and containerd', () => {
    expect(fromCgroup(`12:pids:/docker/${ID}\n11:memory:/docker/${ID}\n`)).toBe(ID);
    expect(fromCgroup(`1:name=systemd:/system.slice/docker-${ID}.scope\n`)).toBe(ID);
    expect(fromCgroup(`0::/kubepods/besteffort/pod1/cri-containerd-${ID}.scope\n`)).toBe(ID);
  });

  it('finds the id in mountinfo under cgroup v2, where /proc/self/cgroup says only "0::/"', () => {
    const mountinfo = [
      '620 600 0:52 / / rw,relatime - overlay overlay rw',
      `640 620 254:1 /docker/containers/${ID}/resolv.conf /etc/resolv.conf rw - ext4 /dev/vda1 rw`,
    ].join('\n');
    expect(fromCgroup('0::/\n')).toBeNull();
    expect(fromMountinfo(mountinfo)).toBe(ID);
    expect(detectContainerId((path) => (path.endsWith('cgroup') ? '0::/\n' : mountinfo))).toBe(ID);
  });

  it('is null outside a container or where /proc cannot be read', () => {
    expect(detectContainerId(() => '0::/user.slice/user-1000.slice/session-2.scope\n')).toBeNull();
    expect(detectContainerId(() => '')).toBeNull();
  });
});
