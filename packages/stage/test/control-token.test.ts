// A process that did not start the stage (a later `drill recover`) finds the control token in
// the state file of the stage whose control URL it holds, and only there.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { controlTokenFor } from '../src/index.ts';
import { writeState, type StageState } from '../src/state.ts';

const parent = mkdtempSync(join(tmpdir(), 'drillbook-token-'));
afterAll(() => rmSync(parent, { recursive: true, force: true }));

function stateWith(control: string, token: string): StageState {
  const auth = { username: 'drillbook', password: 'p' };
  return {
    version: 1,
    hostPid: 1,
    startedAt: new Date(0).toISOString(),
    ready: true,
    urls: { service: '', prometheus: '', alertmanager: '', control, database: '', databaseViaProxy: '', replicas: [] },
    processes: [],
    tempDirs: [],
    secrets: { controlToken: token, prometheus: auth, alertmanager: auth },
  };
}

describe('controlTokenFor', () => {
  it('reads the token from the matching state file in a dir or an owned subdir; none for another URL', () => {
    writeState(join(parent, 'owned-1'), stateWith('http://127.0.0.1:41001', 'token-one'));
    writeState(join(parent, 'owned-2'), stateWith('http://127.0.0.1:41002', 'token-two'));
    expect(controlTokenFor('http://127.0.0.1:41002/replicas', [parent])).toBe('token-two');
    expect(controlTokenFor('http://127.0.0.1:41001', [parent])).toBe('token-one');
    expect(controlTokenFor('http://127.0.0.1:41003', [parent])).toBeUndefined();
    // The file naming it is private, in a private dir.
    expect((statSync(join(parent, 'owned-1', 'stage.json')).mode & 0o777).toString(8)).toBe('600');
    expect((statSync(join(parent, 'owned-1')).mode & 0o777).toString(8)).toBe('700');
  });
});
