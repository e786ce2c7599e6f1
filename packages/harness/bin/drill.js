#!/usr/bin/env node
// The `drill` command. Drills are TypeScript files the team writes, so the CLI
// runs through tsx's loader: no build step between editing a drill and running it.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
