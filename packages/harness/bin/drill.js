#!/usr/bin/env node
// The `drill` command: the compiled harness (dist/). Only the team's own definition files go
// through tsx, when they are loaded (project/loader.ts), so starting the CLI compiles nothing.
import { existsSync } from 'node:fs';

// Run outside npm/npx, `#!/usr/bin/env node` finds the machine's own Node, which may be end of life:
// say so plainly (exit 4, environment) rather than fail later inside a dependency (undici 8 needs 22.19).
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 19)) {
  process.stderr.write(
    `drill needs Node 22.19 or later; this is ${process.version} (${process.execPath}). Run it as 'npx drill …' or through an npm script, which use node_modules/.bin/node (tools/setup.mjs installs Node 24 there).\n`,
  );
  process.exit(4);
}
const compiled = new URL('../dist/cli/main.js', import.meta.url);
// Only a checkout of the Drillbook repository itself can lack dist/: the published package ships it.
if (!existsSync(compiled)) {
  process.stderr.write("drill is not built in this checkout: run 'npm run build' (npm start and npm test build first).\n");
  process.exit(4);
}
const { main } = await import(compiled.href);
process.exitCode = await main(process.argv.slice(2));
