// `npm run bench:cli` (issue #15 item 2): how long the `drill` command takes to start and do a
// small job, against `node -e ''` in the same run — medians of interleaved rounds, wall time and
// peak RSS of each process (`/usr/bin/time -f %M` when installed; else RSS is not reported).
// The limits the issue sets: --help ≤ 0.2 s, validate drills/nightly.ts ≤ 0.6 s, list ≤ 1.0 s.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const drillBin = join(root, 'packages', 'harness', 'bin', 'drill.js');
const ROUNDS = Number(process.argv.find((a) => a.startsWith('--rounds='))?.slice(9) ?? 7);
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;

// A team's project as `npm init -y` writes it ("type": "commonjs"), inside the repository so
// '@drillbook/harness' resolves to the compiled package: definition files load differently there.
const cjsProject = mkdtempSync(join(root, '.tmp-bench-cjs-'));
mkdirSync(join(cjsProject, 'drills'));
writeFileSync(join(cjsProject, 'package.json'), JSON.stringify({ name: 'team', version: '1.0.0', type: 'commonjs' }));
copyFileSync(join(root, 'drills', 'example.ts'), join(cjsProject, 'drills', 'example.ts'));
process.on('exit', () => rmSync(cjsProject, { recursive: true, force: true }));

interface Case {
  name: string;
  argv: string[];
  /** Where it runs (default: the repository root). */
  cwd?: string;
  /** The issue's wall-time limit, when it sets one. */
  limitS?: number;
}

const CASES: Case[] = [
  { name: "node -e ''", argv: [process.execPath, '-e', ''] },
  { name: 'drill --help', argv: [process.execPath, drillBin, '--help'], limitS: 0.2 },
  { name: 'drill validate drills/nightly.ts', argv: [process.execPath, drillBin, 'validate', 'drills/nightly.ts'], limitS: 0.6 },
  { name: 'drill list', argv: [process.execPath, drillBin, 'list'], limitS: 1.0 },
  { name: 'drill validate (CommonJS project)', argv: [process.execPath, drillBin, 'validate', 'drills/example.ts'], cwd: cjsProject },
];

/** One run: wall seconds and peak RSS in MiB (undefined without /usr/bin/time). */
function once(c: Case): { wallS: number; rssMiB?: number } {
  const [file, args] = TIME ? [TIME, ['-f', '%M', ...c.argv]] : [c.argv[0]!, c.argv.slice(1)];
  const t0 = process.hrtime.bigint();
  const r = spawnSync(file, args, { cwd: c.cwd ?? root, encoding: 'utf8', env: { ...process.env, CI: 'true' } });
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${c.name} exited ${r.status}: ${r.stderr.slice(-400)}`);
  const kib = TIME ? Number(r.stderr.trim().split('\n').at(-1)) : NaN;
  return Number.isFinite(kib) ? { wallS, rssMiB: kib / 1024 } : { wallS };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

for (const c of CASES) once(c); // warm the file cache and tsx's compile cache: every tool starts warm
const runs = new Map<string, Array<{ wallS: number; rssMiB?: number }>>(CASES.map((c) => [c.name, []]));
for (let round = 0; round < ROUNDS; round++) {
  // A rotating order, so no command always runs right after the same one.
  for (let i = 0; i < CASES.length; i++) {
    const c = CASES[(i + round) % CASES.length]!;
    runs.get(c.name)!.push(once(c));
  }
}

const baseline = median(runs.get(CASES[0]!.name)!.map((r) => r.wallS));
const results = CASES.map((c) => {
  const rs = runs.get(c.name)!;
  const wallS = median(rs.map((r) => r.wallS));
  const rss = rs.flatMap((r) => (r.rssMiB === undefined ? [] : [r.rssMiB]));
  return {
    name: c.name,
    wallS,
    vsNode: wallS / baseline,
    rssMiB: rss.length ? median(rss) : undefined,
    limitS: c.limitS,
    met: c.limitS === undefined ? undefined : wallS <= c.limitS,
  };
});
for (const r of results)
  console.log(
    `${r.name.padEnd(34)} ${r.wallS.toFixed(3)} s  ${r.vsNode.toFixed(1)}× node -e ''  ${r.rssMiB === undefined ? 'RSS —' : `peak RSS ${r.rssMiB.toFixed(0)} MiB`}` +
      (r.limitS === undefined ? '' : `  limit ${r.limitS} s ${r.met ? 'MET' : 'MISSED'}`),
  );
console.log(`(medians of ${ROUNDS} interleaved rounds after one warm-up each)`);
mkdirSync(join(root, 'bench', 'results'), { recursive: true });
const out = join(root, 'bench', 'results', `cli-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(out, JSON.stringify({ rounds: ROUNDS, results }, null, 2));
console.log(`results ${out}`);
