// The README's "Drill your own service", walked in this repository with the CLI in-process
// (test/support/own-service.ts has the walk; packed-walkthrough.test.ts walks it on the
// published tarballs).
import { mkdtempSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { drill } from '../support/drill-in-process.ts';
import { startSupervisedService, walkOwnService, type SupervisedService } from '../support/own-service.ts';

const repo = resolve(__dirname, '../../../..');
const dir = mkdtempSync(join(repo, '.tmp-init-walk-'));
const startDir = process.cwd();
let service: SupervisedService | undefined;

beforeAll(async () => {
  service = await startSupervisedService(dir);
});

afterAll(() => {
  process.chdir(startDir);
  service?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('Drill your own service (README walk-through)', () => {
  it('init → run the first game-day → TTR matches the supervisor log → the pack verifies', async () => {
    process.chdir(dir);
    await walkOwnService(dir, service!.port, drill, 'init walk-through');
  });
});
