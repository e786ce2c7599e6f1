// manifest.json: the sha256 and size of every file in the pack, sorted by path.
import { join } from 'node:path';
import { writeFileAtomic } from './atomic-write.ts';
import { canonicalJson } from './canonical.ts';
import { MANIFEST } from './layout.ts';
import { contentFiles, hashPackFile, walkPack } from './pack-fs.ts';

export interface ManifestEntry {
  path: string;
  sha256: string;
  size: number;
}

export interface Manifest {
  schema: 'drillbook.manifest/v1';
  files: ManifestEntry[];
}

/**
 * Every regular file of the pack except the manifest, the signed statement and temp files of
 * unfinished writes, pack-relative with '/'. Symlinks and special files are never listed.
 */
export function listPackFiles(packDir: string): string[] {
  return contentFiles(walkPack(packDir));
}

/** The manifest of `files` (default: every file in the pack), each hashed as it is now. */
export function computeManifest(packDir: string, files?: readonly string[]): Manifest {
  const walk = walkPack(packDir);
  const paths = files ? [...new Set(files)].sort() : contentFiles(walk);
  return {
    schema: 'drillbook.manifest/v1',
    files: paths.map((path) => {
      const entry = walk.files.get(path);
      if (!entry) throw new Error(`${join(packDir, path)}: not a regular file in the pack, cannot be put in the manifest`);
      return { path, ...hashPackFile(packDir, path, entry) };
    }),
  };
}

export function updateManifest(packDir: string, files?: readonly string[]): Manifest {
  const manifest = computeManifest(packDir, files);
  writeFileAtomic(join(packDir, MANIFEST), canonicalJson(manifest));
  return manifest;
}
