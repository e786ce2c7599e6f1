// Each caller gets its own stage dir; a dir whose owner is gone is swept, a live owner's kept.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ownStateDir } from '../src/state.ts';
import { startTimeOf } from '../src/proc.ts';

const parent = mkdtempSync(join(tmpdir(), 'drillbook-owned-'));
afterAll(() => rmSync(parent, { recursive: true, force: true }));

describe('ownStateDir', () => {
  it('gives each call a distinct dir, sweeps dirs of dead owners and keeps live ones', async () => {
    const dead = join(parent, 'dead');
    mkdirSync(dead);
    // This pid with another start time: the process that wrote it is gone (pid reused).
    writeFileSync(join(dead, 'owner.json'), JSON.stringify({ name: 'owner', pid: process.pid, pgid: process.pid, startTime: '1' }));
    const live = join(parent, 'live');
    mkdirSync(live);
    writeFileSync(join(live, 'owner.json'), JSON.stringify({ name: 'owner', pid: process.pid, pgid: process.pid, startTime: startTimeOf(process.pid) }));
    const a = await ownStateDir(parent);
    const b = await ownStateDir(parent);
    expect(a.swept).toBe(1);
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(live)).toBe(true);
    expect(a.dir).not.toBe(b.dir);
    expect(existsSync(join(a.dir, 'owner.json'))).toBe(true);
  });
});
