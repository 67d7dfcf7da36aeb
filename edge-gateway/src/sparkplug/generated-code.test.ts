// The committed src/gen/sparkplug_b_pb.ts is what the project's buf + protoc-gen-es make of the
// Sparkplug B .proto in schema/: a stale generated file fails here, not in production.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const moduleDir = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const buf = join(dirname(require.resolve('@bufbuild/buf/package.json')), 'bin', 'buf');
const binDir = join(dirname(require.resolve('@bufbuild/protoc-gen-es/package.json')), 'bin');

const scratch = mkdtempSync(join(tmpdir(), 'pdm-sparkplug-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('Sparkplug B generated code', () => {
  it('matches the committed .proto', () => {
    // buf.gen.yaml writes to ../gen relative to the output base: scratch/base/../gen.
    execFileSync(buf, ['generate', '-o', join(scratch, 'base')], { cwd: moduleDir, env: { ...process.env, PATH: `${binDir}:${process.env.PATH ?? ''}` } });
    const fresh = readFileSync(join(scratch, 'gen', 'sparkplug_b_pb.ts'), 'utf8');
    expect(fresh, 'src/gen/sparkplug_b_pb.ts is stale: run npx buf generate in edge-gateway/src/sparkplug').toBe(readFileSync(join(moduleDir, '..', 'gen', 'sparkplug_b_pb.ts'), 'utf8'));
  });
});
