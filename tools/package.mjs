#!/usr/bin/env node
// `npm run package`: builds the `pdm` CLI and packs it, with everything it needs at run time, into one
// versioned tarball, dist/pdm-<version>.tgz, that `npm install -g ./dist/pdm-<version>.tgz` installs
// without a registry (it works with `--offline`). Inside: the cli package's bin/ and dist/, the
// workspace packages it uses (@pdm/*: package.json and dist/ only) and their third-party runtime
// dependencies, all bundled (bundleDependencies) exactly as package-lock.json resolved them in this
// checkout's node_modules. No sources, type declarations, tests, benchmarks, source maps or dev tooling
// (vitest, nx, tsc).
//
// Native code ships built: better-sqlite3's binary is the one compiled or downloaded by `npm ci` here,
// so the tarball installs on the same platform (OS, CPU architecture, Node ABI) as the machine that
// made it. Its install script is removed so that installing needs no compiler and no network.
// @tensorflow/tfjs-node (optional, downloads libtensorflow while installing) is left out: the
// processor then scores on the WebAssembly backend, as it does wherever tfjs-node is missing.
//
//   npm run package                      build (Nx, cached), then pack into dist/
//   npm run package -- --no-build        pack what is built already
//   npm run package -- --out-dir DIR     write the tarball to DIR
// Prints the tarball's path on stdout (progress on stderr).
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';

const root = resolve(new URL('..', import.meta.url).pathname);
const CLI_DIR = join(root, 'cli');
/**
 * Left out of the bundle on purpose: tfjs-node (see above); core-js, which only the browser builds of
 * @tensorflow/tfjs load; type declarations.
 */
const excluded = (name) => name === '@tensorflow/tfjs-node' || name === 'core-js' || name.startsWith('@types/');
/**
 * Packages whose `main` is one self-contained Node build next to browser bundles and an ES module
 * tree Node never loads: only the manifest, that file and the WebAssembly binaries go in (the wasm
 * backend loads its .wasm from dist/). About 12,000 files fewer, which is most of the install time.
 */
const mainOnly = (name) => name.startsWith('@tensorflow/');
/** Shipped beside the CLI for whoever installs it. */
const DOCUMENTS = ['README.md', 'docs/RUNBOOK.md', 'deploy/gateway.example.yaml', 'deploy/processor.example.yaml', 'deploy/systemd'];
/** Lifecycle scripts npm would run when installing a bundled package: the bundle ships them built. */
const INSTALL_SCRIPTS = ['preinstall', 'install', 'postinstall'];

const { values: flags } = parseArgs({
  options: { 'out-dir': { type: 'string', default: join(root, 'dist') }, 'no-build': { type: 'boolean', default: false } },
});
const log = (line) => process.stderr.write(`package: ${line}\n`);
const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));

function run(command, args, cwd) {
  const result = spawnSync(command, args, {
    cwd,
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
    maxBuffer: 2 ** 28, // npm pack --json lists every file
    env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true' },
  });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (exit ${result.status})`);
  return result.stdout;
}

if (!flags['no-build']) {
  log('building @pdm/cli and the packages it uses (nx)');
  process.stderr.write(run('npx', ['nx', 'run', '@pdm/cli:build', '--output-style=static'], root));
}

// --- which packages ------------------------------------------------------------------------------
const workspaceDirs = new Map(
  readJson(join(root, 'package.json')).workspaces.map((folder) => [readJson(join(root, folder, 'package.json')).name, join(root, folder)]),
);
const cliManifest = readJson(join(CLI_DIR, 'package.json'));

/** Where a package found at `path` in this checkout goes inside the bundle, keeping Node's resolution. */
function bundlePathOf(path) {
  const rel = relative(root, path);
  if (rel.startsWith(`node_modules${sep}`)) return rel;
  // A workspace package's own node_modules (a version that differs from the hoisted one).
  const [folder, ...rest] = rel.split(sep);
  const name = readJson(join(root, folder, 'package.json')).name;
  return name === cliManifest.name ? join(...rest) : join('node_modules', name, ...rest);
}

/** Node's lookup: `name` in node_modules of `fromDir` or of a folder above it, up to the repository root. */
function locate(name, fromDir) {
  if (workspaceDirs.has(name)) return workspaceDirs.get(name);
  for (let dir = fromDir; dir.startsWith(root); dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
  }
  return undefined;
}

/** Every package the CLI needs at run time: bundle path → source folder. */
const bundled = new Map();
const pending = [CLI_DIR];
while (pending.length > 0) {
  const dir = pending.pop();
  const manifest = readJson(join(dir, 'package.json'));
  const optional = new Set([
    ...Object.keys(manifest.optionalDependencies ?? {}),
    ...Object.entries(manifest.peerDependenciesMeta ?? {}).filter(([, meta]) => meta.optional).map(([name]) => name),
  ]);
  const needed = { ...manifest.peerDependencies, ...manifest.optionalDependencies, ...manifest.dependencies };
  for (const name of Object.keys(needed)) {
    if (excluded(name)) continue;
    const found = locate(name, dir);
    if (found === undefined) {
      if (optional.has(name)) continue;
      throw new Error(`${manifest.name} needs ${name}, which is not installed: run npm ci first`);
    }
    const path = bundlePathOf(found);
    const already = bundled.get(path);
    if (already !== undefined && already !== found) throw new Error(`${path} would hold both ${already} and ${found}`);
    if (already === undefined) {
      bundled.set(path, found);
      pending.push(found);
    }
  }
}

// --- staging --------------------------------------------------------------------------------------
/** Not needed to run: source maps, TypeScript sources and declarations, tests. */
function wanted(path) {
  const name = basename(path);
  if (name.endsWith('.map')) return false;
  if (name === '.npmignore' || name === '.gitignore') return false; // would make `npm pack` drop files
  if (/\.[cm]?ts$/.test(name)) return false; // TypeScript sources and declarations
  if (/\.test\.[cm]?js$/.test(name)) return false;
  return true;
}
/** In our own dist/: also no benchmarks and no test support code. */
const wantedOwn = (path) => wanted(path) && !/(^|[/\\])(bench|test-support)$/.test(path);

/** A manifest as installed: no scripts npm would run, no dev-only fields. */
function runtimeManifest(manifest) {
  const copy = { ...manifest };
  delete copy.devDependencies;
  delete copy.nx;
  // What was copied is what ships: `files` would drop a native addon's build/ (better-sqlite3).
  delete copy.files;
  if (copy.scripts) {
    copy.scripts = Object.fromEntries(Object.entries(copy.scripts).filter(([name]) => !INSTALL_SCRIPTS.includes(name)));
  }
  // npm runs `node-gyp rebuild` for any package with a binding.gyp unless told not to.
  if (existsSync(join(manifest.__dir, 'binding.gyp'))) copy.gypfile = false;
  delete copy.__dir;
  return copy;
}

const stage = mkdtempSync(join(tmpdir(), 'pdm-package-'));
try {
  for (const [path, source] of bundled) {
    const target = join(stage, path);
    const manifest = { ...readJson(join(source, 'package.json')), __dir: source };
    if (workspaceDirs.has(manifest.name)) {
      const files = manifest.files ?? ['dist'];
      for (const entry of files) {
        if (existsSync(join(source, entry))) cpSync(join(source, entry), join(target, entry), { recursive: true, filter: wantedOwn });
      }
      if (!existsSync(join(target, 'dist'))) throw new Error(`${manifest.name} is not built: run npm run build first`);
    } else if (mainOnly(manifest.name)) {
      const main = manifest.main ?? 'index.js';
      cpSync(join(source, main), join(target, main));
      const dist = join(source, dirname(main));
      for (const file of readdirSync(dist).filter((f) => f.endsWith('.wasm'))) cpSync(join(dist, file), join(target, dirname(main), file));
    } else {
      // Nested node_modules are copied only as far as the walk above found them needed. A native addon
      // built here (better-sqlite3) ships only the addon itself: not its C++ sources, the SQLite
      // amalgamation or the rest of the build tree.
      const native = existsSync(join(source, 'binding.gyp'));
      const shipped = (rel) => {
        const [top, ...rest] = rel.split(sep);
        if (top === 'node_modules') return false;
        if (!native) return true;
        if (['src', 'deps', 'binding.gyp'].includes(top)) return false;
        if (top !== 'build') return true;
        const [release, file] = rest;
        return release === undefined || (release === 'Release' && (file === undefined || (file.endsWith('.node') && !file.startsWith('test_'))));
      };
      cpSync(source, target, { recursive: true, filter: (file) => wanted(file) && shipped(relative(source, file)) });
    }
    writeFileSync(join(target, 'package.json'), `${JSON.stringify(runtimeManifest(manifest), null, 2)}\n`);
  }

  // The CLI itself is the package's root, with the operator's documents: the README, the runbook, the
  // example configurations and the systemd unit (installed under <prefix>/lib/node_modules/pdm/).
  for (const entry of cliManifest.files) cpSync(join(CLI_DIR, entry), join(stage, entry), { recursive: true, filter: wantedOwn });
  for (const doc of DOCUMENTS) cpSync(join(root, doc), join(stage, doc), { recursive: true });
  const top = Object.keys({ ...cliManifest.dependencies }).filter((name) => !excluded(name));
  const rootManifest = readJson(join(root, 'package.json'));
  writeFileSync(
    join(stage, 'package.json'),
    `${JSON.stringify(
      {
        name: 'pdm',
        version: cliManifest.version,
        description: rootManifest.description,
        license: rootManifest.license,
        type: 'module',
        // The native addon is built for this Node major's ABI.
        engines: { node: `${rootManifest.engines.node} <${Number(process.versions.node.split('.')[0]) + 1}` },
        os: [process.platform],
        cpu: [process.arch],
        bin: cliManifest.bin,
        files: [...cliManifest.files, ...DOCUMENTS],
        dependencies: Object.fromEntries(top.map((name) => [name, cliManifest.dependencies[name]])),
        bundleDependencies: top,
      },
      null,
      2,
    )}\n`,
  );

  mkdirSync(flags['out-dir'], { recursive: true });
  log(`packing ${bundled.size} packages`);
  const [packed] = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', resolve(flags['out-dir'])], stage));
  const tarball = join(resolve(flags['out-dir']), packed.filename);
  log(`${tarball}: ${(statSync(tarball).size / 2 ** 20).toFixed(1)} MiB packed, ${(packed.unpackedSize / 2 ** 20).toFixed(1)} MiB unpacked, ${packed.entryCount} files`);
  console.log(tarball);
} finally {
  rmSync(stage, { recursive: true, force: true });
}
