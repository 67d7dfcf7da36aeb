#!/usr/bin/env node
// Runs the compiled CLI. `npm install` / `npm ci` build it (the root `prepare` script); after changing
// sources run `npm run build` or use `npm start`, which builds first.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/main.js', import.meta.url);
if (!existsSync(entry)) {
  console.error('pdm is not built yet: run `npm run build` in the repository root.');
  process.exit(1);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
