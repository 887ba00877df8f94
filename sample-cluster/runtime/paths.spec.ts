import { describe, expect, it } from 'vitest';
import { chaoscopeHome, processClusterPaths } from './paths.ts';

describe('chaoscopeHome', () => {
  it('prefers CHAOSCOPE_HOME, then XDG_DATA_HOME, then ~/.local/share', () => {
    expect(chaoscopeHome({ CHAOSCOPE_HOME: '/srv/cs', XDG_DATA_HOME: '/x', HOME: '/home/u' })).toBe(
      '/srv/cs',
    );
    expect(chaoscopeHome({ XDG_DATA_HOME: '/x', HOME: '/home/u' })).toBe('/x/chaoscope');
    expect(chaoscopeHome({ HOME: '/home/u' })).toBe('/home/u/.local/share/chaoscope');
  });

  it('ignores a relative XDG_DATA_HOME, as the XDG spec asks', () => {
    expect(chaoscopeHome({ XDG_DATA_HOME: 'relative/dir', HOME: '/home/u' })).toBe(
      '/home/u/.local/share/chaoscope',
    );
  });

  it('takes a relative CHAOSCOPE_HOME from the current directory', () => {
    expect(chaoscopeHome({ CHAOSCOPE_HOME: 'here' })).toBe(`${process.cwd()}/here`);
  });
});

describe('processClusterPaths', () => {
  it('keeps state, data and logs apart under one directory per home', () => {
    const paths = processClusterPaths('/h');
    expect(paths.stateFile).toBe('/h/process-cluster/state.json');
    expect(paths.serviceDataDir('users')).toBe('/h/process-cluster/data/users');
    expect(paths.logFile('users-1')).toBe('/h/process-cluster/logs/users-1.log');
  });
});
