// The models loaded from a registry, kept current: each poll loads the newest complete version of every
// model. A version that fails to load is logged once and remembered (until any of its files changes);
// the newest loadable version newer than the one serving replaces it, else the serving one stays.
import { readModelFolder } from '../model/artifacts.js';
import type { ModelLogger } from '../model/logger.js';
import { disposeBundle, type ModelBundle } from '../model/model-bundle.js';
import { listRegistry, type VersionEntry } from '../model/registry.js';

export class ModelSet {
  private readonly current = new Map<string, { entry: VersionEntry; bundle: ModelBundle }>();
  private readonly broken = new Set<string>();
  loadFailures = 0;
  loads = 0;

  constructor(
    private readonly registryDir: string,
    private readonly logger: ModelLogger,
  ) {}

  bundles(): ModelBundle[] {
    return [...this.current.values()].map((c) => c.bundle);
  }

  /**
   * Brings the set up to date with the registry. `beforeRetire` runs after new bundles are in place
   * and before replaced ones are disposed, so work queued on the old ones can finish first.
   */
  async refresh(beforeRetire: () => void): Promise<void> {
    const registry = await listRegistry(this.registryDir);
    const retired: ModelBundle[] = [];
    for (const [name, versions] of registry) {
      const serving = this.current.get(name);
      for (const entry of versions) {
        if (serving && serving.entry.dir === entry.dir && serving.entry.stamp === entry.stamp) break;
        const key = `${entry.dir}@${entry.stamp}`;
        if (this.broken.has(key)) continue;
        try {
          const bundle = await readModelFolder(entry.dir);
          if (bundle.info.name !== name || bundle.info.version !== entry.version) {
            disposeBundle(bundle);
            throw new Error(`${entry.dir}: contract.json names ${bundle.info.name}@${bundle.info.version}; a copied folder must be retrained or its contract edited`);
          }
          this.current.set(name, { entry, bundle });
          if (serving) retired.push(serving.bundle);
          this.loads++;
          this.logger.info({ model: name, version: entry.version, kind: bundle.kind, features: bundle.layout.reads.length }, 'model loaded');
          break;
        } catch (err) {
          this.broken.add(key);
          this.loadFailures++;
          this.logger.error({ model: name, version: entry.version, err: (err as Error).message }, 'model version refused; keeping the previous one');
        }
      }
    }
    for (const [name, { bundle, entry }] of this.current) {
      if (!registry.has(name)) {
        this.current.delete(name);
        retired.push(bundle);
        this.logger.info({ model: name, version: entry.version }, 'model removed from the registry; unloaded');
      }
    }
    if (retired.length > 0) beforeRetire();
    for (const bundle of retired) disposeBundle(bundle);
  }

  dispose(): void {
    for (const { bundle } of this.current.values()) disposeBundle(bundle);
    this.current.clear();
  }
}
