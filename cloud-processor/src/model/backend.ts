// Chooses the TensorFlow.js backend once per process: tfjs-node (native libtensorflow) when it is
// installed, else WebAssembly, else the plain-JS cpu backend. The model code is identical on all three.
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import type { ModelLogger } from './logger.js';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
const ORDER: readonly BackendName[] = ['tensorflow', 'wasm', 'cpu'];

// A variable specifier: tfjs-node is an optional dependency and usually absent, so the compiler must not
// try to resolve it.
const TFJS_NODE = '@tensorflow/tfjs-node';

let selected: Promise<BackendName> | undefined;

/**
 * Activates the best available backend, starting at `prefer` in the order tensorflow → wasm → cpu,
 * and logs which one runs. Memoised: TF.js has one global backend per process, so the first caller
 * decides; use `switchBackend` to force another one (tests compare backends that way).
 */
export function ensureBackend(logger: ModelLogger, prefer: BackendName = 'tensorflow'): Promise<BackendName> {
  selected ??= selectFrom(ORDER.slice(ORDER.indexOf(prefer)), logger);
  return selected;
}

/** Forces a backend now (e.g. cpu for a comparison); throws when it cannot start. */
export async function switchBackend(name: BackendName, logger: ModelLogger): Promise<BackendName> {
  selected = selectFrom([name], logger).then((got) => {
    if (got !== name) throw new Error(`backend '${name}' could not start`);
    return got;
  });
  return selected;
}

/** The backend in use right now ('tensorflow', 'wasm' or 'cpu'). */
export function activeBackend(): string {
  return tf.getBackend();
}

async function selectFrom(candidates: readonly BackendName[], logger: ModelLogger): Promise<BackendName> {
  for (const name of candidates) {
    try {
      if (await start(name)) {
        logger.info({ backend: name }, 'TensorFlow.js backend selected');
        return name;
      }
    } catch (err) {
      logger.info({ backend: name, err: String(err) }, 'TensorFlow.js backend unavailable, trying the next');
    }
  }
  throw new Error(`no TensorFlow.js backend could start (tried ${candidates.join(', ')})`);
}

async function start(name: BackendName): Promise<boolean> {
  if (name === 'tensorflow') {
    // Importing tfjs-node registers the 'tensorflow' backend with the shared tfjs-core engine.
    await import(TFJS_NODE);
  }
  if (name === 'wasm') {
    // In Node the emscripten loader reads the .wasm files from disk: point it at the package's dist/.
    const require = createRequire(import.meta.url);
    const dist = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
    setWasmPaths(dist + path.sep);
  }
  const ok = await tf.setBackend(name);
  await tf.ready();
  return ok && tf.getBackend() === name;
}
