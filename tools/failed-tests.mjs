#!/usr/bin/env node
// Prints the failed tests of vitest JSON reports, one line each with the first lines of the failure,
// so that the end of a long CI log names what failed (a CI record may keep only its tail).
// Usage: node tools/failed-tests.mjs REPORT.json [...]
import { existsSync, readFileSync } from 'node:fs';
import { relative } from 'node:path';

const reports = process.argv.slice(2);
if (reports.length === 0 || reports.includes('--help') || reports.includes('-h')) {
  console.log('usage: node tools/failed-tests.mjs REPORT.json [...]\nprints the failed tests of vitest JSON reports');
  process.exit(reports.length === 0 ? 2 : 0);
}

// The message (up to its stack) and the first stack line in our own sources: what failed and where.
const summary = (text) => {
  const lines = text.split('\n').map((line) => line.trim()).filter((line) => line.length > 0);
  const stackStart = lines.findIndex((line) => line.startsWith('at '));
  const message = (stackStart === -1 ? lines : lines.slice(0, stackStart)).slice(0, 3);
  const where = lines.find((line) => line.startsWith('at ') && line.includes('/src/') && !line.includes('node_modules'));
  return [...message, ...(where ? [where] : [])].join(' | ');
};

for (const path of reports) {
  if (!existsSync(path)) {
    console.log(`${path}: no report (did the run start?)`);
    continue;
  }
  const report = JSON.parse(readFileSync(path, 'utf8'));
  for (const file of report.testResults) {
    const name = relative(process.cwd(), file.name);
    // A file that fails to load has no assertion results, only its own message.
    if (file.status === 'failed' && file.assertionResults.length === 0) {
      console.log(`FAILED ${name}: ${summary(file.message ?? '')}`);
    }
    for (const test of file.assertionResults) {
      if (test.status !== 'failed') continue;
      console.log(`FAILED ${name} > ${test.fullName} (${Math.round(test.duration ?? 0)} ms): ${summary(test.failureMessages.join('\n'))}`);
    }
  }
}
