// The schema checks run in the test suite so that `npm test` fails on a lint error, a breaking change
// against the committed baseline, or generated code that no longer matches the schema.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const buf = join(dirname(require.resolve('@bufbuild/buf/package.json')), 'bin', 'buf');
const binDir = join(dirname(require.resolve('@bufbuild/protoc-gen-es/package.json')), 'bin');

const scratch = mkdtempSync(join(tmpdir(), 'pdm-proto-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function runBuf(args: string[], cwd = packageDir) {
  return spawnSync(buf, args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, PATH: `${binDir}:${process.env.PATH ?? ''}` },
  });
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

// Runs `buf breaking` against the committed baseline on a scratch copy of the package whose
// features.proto has been edited, so the real schema is never touched.
function breakingAfterEditingFeatures(copyName: string, edit: (proto: string) => string) {
  const copy = join(scratch, copyName);
  cpSync(packageDir, copy, { recursive: true, filter: (src) => !src.includes('node_modules') });
  const proto = join(copy, 'schema/pdm/v1/features.proto');
  const original = readFileSync(proto, 'utf8');
  const edited = edit(original);
  expect(edited, 'the edit must change features.proto').not.toBe(original);
  writeFileSync(proto, edited);
  return runBuf(['breaking', '--against', 'baseline/pdm-v1.image.json'], copy);
}

describe('buf', () => {
  it('lints the schema clean', () => {
    const result = runBuf(['lint']);
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('finds no breaking change against the committed baseline', () => {
    const result = runBuf(['breaking', '--against', 'baseline/pdm-v1.image.json']);
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('reports a removed field as a breaking change', () => {
    const result = breakingAfterEditingFeatures('removed-field', (proto) =>
      proto.replace('  uint32 late_count = 14;\n', ''),
    );
    expect(result.status).not.toBe(0);
    expect(result.stdout).toMatch(/late_count/);
  });

  // buf breaking silently skips a message the baseline lacks, so this also proves the baseline
  // (npm run update-baseline) holds FeatureBatch.
  it('reports a renumbered FeatureBatch field as a breaking change', () => {
    const result = breakingAfterEditingFeatures('renumbered-feature-batch-field', (proto) =>
      proto.replace('  uint32 shard = 3;\n', '  uint32 shard = 5;\n'),
    );
    expect(result.status).not.toBe(0);
    expect(result.stdout).toMatch(/"shard" on message "FeatureBatch"/);
  });

  it('has committed generated code that matches the schema', () => {
    const out = join(scratch, 'generated');
    execFileSync(buf, ['generate', '-o', out], {
      cwd: packageDir,
      env: { ...process.env, PATH: `${binDir}:${process.env.PATH ?? ''}` },
    });
    const committed = join(packageDir, 'src/gen');
    const fresh = join(out, 'src/gen');
    expect(listFiles(fresh)).toEqual(listFiles(committed));
    for (const file of listFiles(committed)) {
      expect(readFileSync(join(fresh, file), 'utf8'), `${file} is stale: run npm run generate -w @pdm/proto`).toBe(
        readFileSync(join(committed, file), 'utf8'),
      );
    }
  });
});
