// What a user reads (fix texts, messages) points at the project's own docs/, never at files
// outside the repository (API-SKETCH.md, DESIGN.md), and every docs/ file it names exists.
import { existsSync, globSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const repo = resolve(__dirname, '../../../..');
const sources = globSync('packages/{harness,stage}/src/**/*.ts', { cwd: repo }).sort();

/** Lines of code, comments left out: comments may cite design notes, a user never sees them. */
function codeLines(file: string): Array<{ at: string; text: string }> {
  const out: Array<{ at: string; text: string }> = [];
  let inBlock = false;
  readFileSync(join(repo, file), 'utf8')
    .split('\n')
    .forEach((line, i) => {
      const t = line.trim();
      if (inBlock) {
        if (t.includes('*/')) inBlock = false;
        return;
      }
      if (t.startsWith('/*')) {
        inBlock = !t.includes('*/');
        return;
      }
      if (t.startsWith('//') || t.startsWith('*')) return;
      out.push({ at: `${file}:${i + 1}`, text: line.replace(/\s\/\/\s.*$/, '') });
    });
  return out;
}

describe('pointers in user-facing text', () => {
  it('the sources were found', () => {
    expect(sources.length).toBeGreaterThan(50);
  });

  it('no code line names API-SKETCH.md or DESIGN.md', () => {
    const hits = sources.flatMap(codeLines).filter((l) => /API-SKETCH|DESIGN\.md/.test(l.text));
    expect(hits.map((h) => h.at)).toEqual([]);
  });

  it('every docs/*.md a code line names exists', () => {
    const named = new Set(sources.flatMap(codeLines).flatMap((l) => [...l.text.matchAll(/docs\/[\w-]+\.md/g)].map((m) => m[0])));
    expect(named.size).toBeGreaterThan(0);
    for (const doc of named) expect(existsSync(join(repo, doc)), doc).toBe(true);
  });
});
