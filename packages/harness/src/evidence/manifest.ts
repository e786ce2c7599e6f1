// manifest.json: the sha256 and size of every file in the pack, sorted by path.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { writeFileAtomic } from './atomic-write.ts';
import { canonicalJson, sha256 } from './canonical.ts';
import { MANIFEST, STATEMENT } from './layout.ts';

export interface ManifestEntry {
  path: string;
  sha256: string;
  size: number;
}

export interface Manifest {
  schema: 'drillbook.manifest/v1';
  files: ManifestEntry[];
}

/** Every file of the pack except the manifest and the signed statement, pack-relative with '/'. */
export function listPackFiles(packDir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && !e.name.endsWith('.tmp')) out.push(relative(packDir, p).split(sep).join('/'));
    }
  };
  walk(packDir);
  return out.filter((p) => p !== MANIFEST && p !== STATEMENT).sort();
}

export function computeManifest(packDir: string): Manifest {
  return {
    schema: 'drillbook.manifest/v1',
    files: listPackFiles(packDir).map((path) => {
      const data = readFileSync(join(packDir, path));
      return { path, sha256: sha256(data), size: statSync(join(packDir, path)).size };
    }),
  };
}

export function updateManifest(packDir: string): Manifest {
  const manifest = computeManifest(packDir);
  writeFileAtomic(join(packDir, MANIFEST), canonicalJson(manifest));
  return manifest;
}
