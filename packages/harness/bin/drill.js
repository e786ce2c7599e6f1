#!/usr/bin/env node
// The `drill` command. Drills are TypeScript files the team writes, so the CLI
// runs through tsx's loader: no build step between editing a drill and running it.
import { register } from 'tsx/esm/api';

// Run outside npm/npx, `#!/usr/bin/env node` finds the machine's own Node, which may be end of life:
// say so plainly (exit 4, environment) rather than fail later inside a dependency (undici 8 needs 22.19).
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 19)) {
  process.stderr.write(
    `drill needs Node 22.19 or later; this is ${process.version} (${process.execPath}). Run it as 'npx drill …' or through an npm script, which use node_modules/.bin/node (tools/setup.mjs installs Node 24 there).\n`,
  );
  process.exit(4);
}
register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
