// The project's load profiles: every load/*.ts, each profile with the file it came from
// (for `drill build`, which writes their k6 artifacts).
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { isLoadProfile, type LoadProfile } from '../define/load.ts';
import { loadDefinitions } from '../project/loader.ts';

export async function loadProjectProfiles(projectRoot: string, dir = 'load'): Promise<Array<{ profile: LoadProfile; source: string }>> {
  const names = (await readdir(join(projectRoot, dir)).catch(() => [] as string[])).filter((n) => n.endsWith('.ts') && !n.endsWith('.d.ts')).sort();
  const out: Array<{ profile: LoadProfile; source: string }> = [];
  for (const n of names) {
    // A DefinitionError names the file and field; it propagates to the caller's exit 2.
    const loaded = await loadDefinitions(join(projectRoot, dir, n), projectRoot);
    for (const d of loaded.definitions) if (isLoadProfile(d.value)) out.push({ profile: d.value, source: `${dir}/${n}` });
  }
  return out;
}
