// The models loaded from a registry, kept current: each poll reads every model's versions and its
// lifecycle file (model/lifecycle.ts) and loads what they say.
//
// Without a lifecycle file the newest complete version serves: a version that fails to load is logged
// once and remembered (until any of its files changes); the newest loadable version newer than the one
// serving replaces it, else the serving one stays. With one, the versions it names are loaded — serving,
// rollout, shadows — and a new version in the registry waits until it is named. A named version that
// is missing or fails to load is logged; for the serving role the version serving before stays. A
// lifecycle file that cannot be used (unreadable, not JSON, a wrong key) is logged with the file and
// key, counted once per change of the file, and the model keeps what it served.
//
// "Keeps what it served" needs something served: after a restart nothing is. Then an unusable lifecycle
// file, or a serving version that cannot load, falls back to the newest loadable version, logged at
// error level, so the machines are scored (as without a lifecycle file) rather than left with no model.
import path from 'node:path';
import { readModelFolder } from '../model/artifacts.js';
import { lifecyclePath, readLifecycle, type Lifecycle } from '../model/lifecycle.js';
import type { ModelLogger } from '../model/logger.js';
import { disposeBundle, type ModelBundle } from '../model/model-bundle.js';
import { listRegistry, type VersionEntry } from '../model/registry.js';
import type { ServedModel } from './select-model.js';

interface Loaded {
  entry: VersionEntry;
  bundle: ModelBundle;
}

/** One model's loaded versions by role. */
interface Roles {
  serving: Loaded;
  rollout?: { loaded: Loaded; machines: string[] };
  shadows: Loaded[];
}

const loadedOf = (roles: Roles): Loaded[] => [roles.serving, ...(roles.rollout ? [roles.rollout.loaded] : []), ...roles.shadows];

/** The versions a model's roles name, for logs and for telling a change. */
const describe = (roles: Roles) => ({
  serving: roles.serving.entry.version,
  ...(roles.rollout && { rollout: roles.rollout.loaded.entry.version, rolloutMachines: roles.rollout.machines }),
  shadow: roles.shadows.map((s) => s.entry.version),
});

export class ModelSet {
  private readonly current = new Map<string, Roles>();
  private readonly broken = new Set<string>();
  /** Each model's lifecycle file refused last, by its stamp: reported once, not at every poll. */
  private readonly refusedLifecycles = new Map<string, string>();
  /** Versions a lifecycle names that the registry lacks, warned about once each. */
  private readonly missingWarned = new Set<string>();
  loadFailures = 0;
  loads = 0;
  /** Lifecycle files refused (one per change of a bad file). */
  lifecyclesRefused = 0;
  /** Every version the registry held at the last refresh, loaded or not. */
  private listed: { name: string; version: string }[] = [];

  constructor(
    private readonly registryDir: string,
    private readonly logger: ModelLogger,
  ) {}

  /** Each model's loaded versions by role. */
  served(): ServedModel[] {
    return [...this.current.values()].map((roles) => ({
      serving: roles.serving.bundle,
      ...(roles.rollout && { rollout: { bundle: roles.rollout.loaded.bundle, machines: roles.rollout.machines } }),
      shadows: roles.shadows.map((s) => s.bundle),
    }));
  }

  /** Every version the registry held at the last refresh (a version rolled back from stays listed). */
  inRegistry(): readonly { name: string; version: string }[] {
    return this.listed;
  }

  /**
   * Brings the set up to date with the registry. `beforeRetire` runs after new bundles are in place
   * and before replaced ones are disposed, so work queued on the old ones can finish first.
   */
  async refresh(beforeRetire: () => void): Promise<void> {
    const registry = await listRegistry(this.registryDir);
    this.listed = [...registry.values()].flatMap((versions) => versions.map(({ name, version }) => ({ name, version })));
    const before = new Set([...this.current.values()].flatMap(loadedOf));
    for (const [name, versions] of registry) {
      const previous = this.current.get(name);
      const read = await readLifecycle(path.join(this.registryDir, name));
      let roles: Roles | undefined;
      if (read.kind === 'invalid') {
        if (this.refusedLifecycles.get(name) !== read.stamp) {
          this.refusedLifecycles.set(name, read.stamp);
          this.lifecyclesRefused++;
          this.logger.error({ model: name, file: read.error.file, key: read.error.key, err: read.error.message }, 'lifecycle file refused; the model keeps the versions it served');
        }
        if (previous !== undefined) continue;
        const fallback = await this.newestLoadable(name, versions, undefined);
        if (fallback === undefined) continue;
        this.logger.error(
          { model: name, file: read.error.file, version: fallback.entry.version },
          `${read.error.file} invalid: serving the newest loadable version ${fallback.entry.version} until it is fixed`,
        );
        roles = { serving: fallback, shadows: [] };
      } else {
        this.refusedLifecycles.delete(name);
        roles = read.kind === 'none' ? await this.servingAlone(name, versions, previous) : await this.rolesOf(name, read.lifecycle, versions, previous);
      }
      if (roles === undefined) continue;
      this.current.set(name, roles);
      if (previous === undefined || JSON.stringify(describe(previous)) !== JSON.stringify(describe(roles))) {
        this.logger.info({ model: name, ...describe(roles) }, 'model versions serving');
      }
    }
    for (const [name, roles] of this.current) {
      if (!registry.has(name)) {
        this.current.delete(name);
        this.logger.info({ model: name, ...describe(roles) }, 'model removed from the registry; unloaded');
      }
    }
    const kept = new Set([...this.current.values()].flatMap(loadedOf));
    const retired = [...before].filter((loaded) => !kept.has(loaded));
    if (retired.length > 0) beforeRetire();
    for (const { bundle } of retired) disposeBundle(bundle);
  }

  dispose(): void {
    // A set: a version both rolled out and in shadow is one bundle.
    for (const { bundle } of new Set([...this.current.values()].flatMap(loadedOf))) disposeBundle(bundle);
    this.current.clear();
  }

  /** No lifecycle file: the newest loadable version serves alone. */
  private async servingAlone(name: string, versions: VersionEntry[], previous: Roles | undefined): Promise<Roles | undefined> {
    const serving = await this.newestLoadable(name, versions, previous);
    return serving && { serving, shadows: [] };
  }

  /**
   * The newest version that loads, stopping at the one serving (no lifecycle file). The serving
   * version's own folder changed and not loadable now (being copied over, an edit with a typo) keeps
   * it serving as it was, rather than handing its machines to an older version.
   */
  private async newestLoadable(name: string, versions: VersionEntry[], previous: Roles | undefined): Promise<Loaded | undefined> {
    const serving = previous?.serving;
    for (const entry of versions) {
      const itsFolder = serving !== undefined && serving.entry.dir === entry.dir;
      if (itsFolder && serving.entry.stamp === entry.stamp) return serving;
      const loaded = await this.load(name, entry, previous);
      if (loaded) return loaded;
      if (itsFolder) return serving;
    }
    return serving;
  }

  /**
   * The versions a lifecycle names, loaded. When its serving version cannot serve, the one serving before
   * stays; with none before (a restart), the newest loadable version serves until the file is fixed.
   * Undefined when no version loads.
   */
  private async rolesOf(name: string, lifecycle: Lifecycle, versions: VersionEntry[], previous: Roles | undefined): Promise<Roles | undefined> {
    // A version named twice (rolled out and in shadow) is loaded once.
    const memo = new Map<string, Promise<Loaded | undefined>>();
    const named = (version: string, role: string) => {
      let loaded = memo.get(version);
      if (loaded === undefined) memo.set(version, (loaded = this.loadNamed(name, version, role, versions, previous)));
      return loaded;
    };
    let serving = (await named(lifecycle.serving, 'serving')) ?? previous?.serving;
    if (serving === undefined) {
      for (const entry of versions) {
        serving = await named(entry.version, 'serving');
        if (serving === undefined) continue;
        this.logger.error(
          { model: name, file: lifecyclePath(path.join(this.registryDir, name)), named: lifecycle.serving, version: entry.version },
          `lifecycle.json names serving version ${lifecycle.serving}, which cannot serve: serving the newest loadable version ${entry.version} until it is fixed`,
        );
        break;
      }
    }
    if (serving === undefined) return undefined;
    const rollout = lifecycle.rollout && (await named(lifecycle.rollout.version, 'rollout'));
    const shadows: Loaded[] = [];
    for (const version of lifecycle.shadow) {
      const loaded = await named(version, 'shadow');
      if (loaded && loaded !== serving) shadows.push(loaded);
    }
    return { serving, ...(rollout && rollout !== serving && { rollout: { loaded: rollout, machines: lifecycle.rollout!.machines } }), shadows };
  }

  /** A version a lifecycle names: loaded, or undefined (logged once) when the registry lacks it or it fails to load. */
  private async loadNamed(name: string, version: string, role: string, versions: VersionEntry[], previous: Roles | undefined): Promise<Loaded | undefined> {
    const key = `${name}@${version}`;
    const entry = versions.find((v) => v.version === version);
    if (entry === undefined) {
      if (!this.missingWarned.has(key)) {
        this.missingWarned.add(key);
        this.logger.error({ model: name, version, role }, `lifecycle.json names a version the registry does not hold (no ${name}/${version}/contract.json)`);
      }
      return undefined;
    }
    this.missingWarned.delete(key);
    return this.load(name, entry, previous);
  }

  /** A version's bundle: the one loaded already when its files are unchanged, else read (undefined when it fails). */
  private async load(name: string, entry: VersionEntry, previous: Roles | undefined): Promise<Loaded | undefined> {
    const same = previous && loadedOf(previous).find((l) => l.entry.dir === entry.dir && l.entry.stamp === entry.stamp);
    if (same) return same;
    const key = `${entry.dir}@${entry.stamp}`;
    if (this.broken.has(key)) return undefined;
    try {
      const bundle = await readModelFolder(entry.dir);
      if (bundle.info.name !== name || bundle.info.version !== entry.version) {
        disposeBundle(bundle);
        throw new Error(`${entry.dir}: contract.json names ${bundle.info.name}@${bundle.info.version}; a copied folder must be retrained or its contract edited`);
      }
      this.loads++;
      this.logger.info({ model: name, version: entry.version, kind: bundle.kind, features: bundle.layout.reads.length }, 'model loaded');
      return { entry, bundle };
    } catch (err) {
      this.broken.add(key);
      this.loadFailures++;
      this.logger.error({ model: name, version: entry.version, err: (err as Error).message }, 'model version refused; keeping the previous one');
      return undefined;
    }
  }
}
