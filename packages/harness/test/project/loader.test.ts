import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DefinitionError } from '../../src/define/index.ts';
import { loadDefinitions, pickDrill } from '../../src/project/loader.ts';

// Temp files live inside the repo so '@drillbook/harness' resolves as it does for users.
const dir = mkdtempSync(join(__dirname, '..', '..', '..', '..', '.tmp-loader-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('loading definition files', () => {
  it('names the file when a definition inside it is wrong', async () => {
    const file = join(dir, 'bad-drill.ts');
    writeFileSync(
      file,
      `import { defineGameDay, fault, probe } from '@drillbook/harness';
export default defineGameDay({ name: 'bad', environments: ['local'],
  steadyState: [probe.http({ name: 'ready', target: 'api', path: '/readyz' })],
  phases: [{ name: 'kill', fault: fault.podKill({ target: 'api', mode: 'fixed' }) }] });`,
    );
    const err = await loadDefinitions(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DefinitionError);
    expect((err as DefinitionError).file).toMatch(/bad-drill\.ts$/);
    expect((err as DefinitionError).message).toMatch(/bad-drill\.ts: phases\[0\]\.fault\.value: .*\n  fix: add value: 1/);
  });

  it('finds every exported definition and picks the drill by name or default', async () => {
    const file = join(dir, 'two.ts');
    writeFileSync(
      file,
      `import { defineDrill, fault, probe } from '@drillbook/harness';
const ready = probe.http({ name: 'ready', target: 'api', path: '/readyz' });
export const a = defineDrill({ name: 'a', environments: ['local'], steadyState: [ready], fault: fault.podKill({ target: 'api' }) });
export const b = defineDrill({ name: 'b', environments: ['local'], steadyState: [ready], fault: fault.podKill({ target: 'api' }) });`,
    );
    const loaded = await loadDefinitions(file);
    expect(loaded.definitions.map((d) => d.exportName)).toEqual(['a', 'b']);
    expect(pickDrill(loaded, 'b').plan.name).toBe('b');
    expect(() => pickDrill(loaded)).toThrow(/pick one with --drill a \| b/);
  });

  it('reports a missing file and a file that does not compile as definition errors', async () => {
    await expect(loadDefinitions(join(dir, 'nope.ts'))).rejects.toThrow(/file not found/);
    const broken = join(dir, 'broken.ts');
    writeFileSync(broken, 'export default {{{');
    await expect(loadDefinitions(broken)).rejects.toBeInstanceOf(DefinitionError);
  });
});
