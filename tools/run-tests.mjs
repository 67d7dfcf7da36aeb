#!/usr/bin/env node
// `npm test`: lint, typecheck, build and test every package through Nx, then print one total over all
// packages' vitest JSON reports as a line of its own: "N passed, N failed" (what CI reads).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const targets = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['lint', 'typecheck', 'build', 'test'];

const packages = readdirSync(root, { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && existsSync(join(root, entry.name, 'package.json')))
  .map((entry) => entry.name);
const reportOf = (pkg) => join(root, pkg, '.reports', 'vitest.json');

// Stale reports would be counted again; Nx restores fresh ones for cached test runs.
for (const pkg of packages) rmSync(reportOf(pkg), { force: true });

const nx = spawnSync('npx', ['nx', 'run-many', '-t', ...targets, '--output-style=static'], {
  cwd: root,
  stdio: 'inherit',
  // Tests talk only to local emulators: never let Google's auth library probe the GCE metadata server.
  env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', METADATA_SERVER_DETECTION: 'none' },
});

let passed = 0;
let failed = 0;
let skipped = 0;
const lines = [];
for (const pkg of packages) {
  if (!existsSync(reportOf(pkg))) continue;
  const report = JSON.parse(readFileSync(reportOf(pkg), 'utf8'));
  // A test file that fails to load has no assertion results but must count as a failure.
  const brokenFiles = report.testResults.filter((file) => file.status === 'failed' && file.assertionResults.length === 0).length;
  const pkgFailed = report.numFailedTests + brokenFiles;
  const pkgSkipped = report.numPendingTests + report.numTodoTests;
  passed += report.numPassedTests;
  failed += pkgFailed;
  skipped += pkgSkipped;
  lines.push(`  ${pkg.padEnd(18)} ${report.numPassedTests} passed, ${pkgFailed} failed${pkgSkipped ? `, ${pkgSkipped} skipped` : ''}`);
}

if (failed > 0) {
  console.log('\nFailed tests:');
  const reports = packages.map(reportOf).filter((path) => existsSync(path));
  spawnSync(process.execPath, [join(root, 'tools', 'failed-tests.mjs'), ...reports], { cwd: root, stdio: 'inherit' });
}
console.log('\nTest totals by package:');
console.log(lines.join('\n') || '  (no test reports: did an earlier target fail?)');
if (nx.status !== 0) console.log(`\nSome targets failed (nx exit code ${nx.status}); see the output above.`);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(nx.status !== 0 || failed > 0 ? 1 : 0);
