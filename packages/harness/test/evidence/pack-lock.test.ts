// Several harness processes finishing runs into one release at once: every record ends up
// in the manifest and the signed statement, so the pack verifies.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { keygen, loadPublicKey } from '../../src/evidence/sign.ts';
import { verifyPack } from '../../src/evidence/verify.ts';

const root = mkdtempSync(join(tmpdir(), 'drillbook-pack-lock-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('the pack lock', () => {
  it('four processes finishing runs that started in the same second, into one release at once: four records (none overwritten), a pack that verifies', async () => {
    const keys = keygen(join(root, 'keys'));
    const evidence = join(root, 'evidence-pack');
    const runs = [0, 0, 0, 0].map(
      (offset) =>
        new Promise<number | null>((resolve) => {
          const p = spawn(
            process.execPath,
            ['--import', 'tsx', join(__dirname, 'fixtures', 'write-and-seal.ts'), evidence, 'shared', String(offset), keys.privateKeyPath],
            { stdio: 'inherit' },
          );
          p.on('exit', resolve);
        }),
    );
    expect(await Promise.all(runs)).toEqual([0, 0, 0, 0]);
    const result = verifyPack(join(evidence, 'release-shared'), { publicKey: loadPublicKey(keys.publicKeyPath) });
    expect(result.problems).toEqual([]);
    expect(result.files).toBe(4);
  });
});
