// What grew between two V8 heap snapshots of one process (processor-soak.ts writes them): per kind of
// object (constructor for objects and closures; the V8 type and name for arrays and the like; the type
// alone for strings, numbers, code), the count and the self size in each, largest growth first; then,
// for the kinds that grew most, what holds their objects that are new in the second snapshot (V8 keeps
// an object's id from one snapshot to the next within a process), by holder kind and edge name.
// Self sizes only: retained sizes need a dominator tree, and the holders say where to look.
// Usage: node --max-old-space-size=4096 dist/bench/heap-snapshot-diff.js A.heapsnapshot B.heapsnapshot [--top 25]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface RawSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]]; edge_fields: string[]; edge_types: [string[]] } };
  nodes: number[];
  edges: number[];
  strings: string[];
}

interface Snapshot {
  raw: RawSnapshot;
  nodeFields: number;
  edgeFields: number;
  /** Per node (by ordinal): its kind. */
  kinds: string[];
  /** Per node: the index of its first edge in `edges`. */
  firstEdge: Uint32Array;
}

/** Kinds whose names are too varied to group by: strings and the like are one kind each. */
const BY_TYPE_ONLY = new Set(['string', 'concatenated string', 'sliced string', 'number', 'code', 'regexp', 'bigint']);

function load(path: string): Snapshot {
  const raw = JSON.parse(readFileSync(path, 'utf8')) as RawSnapshot;
  const meta = raw.snapshot.meta;
  const nodeFields = meta.node_fields.length;
  const edgeFields = meta.edge_fields.length;
  const typeAt = meta.node_fields.indexOf('type');
  const nameAt = meta.node_fields.indexOf('name');
  const edgeCountAt = meta.node_fields.indexOf('edge_count');
  const types = meta.node_types[0];
  const count = raw.nodes.length / nodeFields;
  const kinds = new Array<string>(count);
  const firstEdge = new Uint32Array(count + 1);
  for (let n = 0, edge = 0; n < count; n++) {
    const at = n * nodeFields;
    const type = types[raw.nodes[at + typeAt]!]!;
    kinds[n] = BY_TYPE_ONLY.has(type) ? `(${type})` : `${type} ${raw.strings[raw.nodes[at + nameAt]!]}`;
    firstEdge[n] = edge;
    edge += raw.nodes[at + edgeCountAt]! * edgeFields;
    firstEdge[n + 1] = edge;
  }
  return { raw, nodeFields, edgeFields, kinds, firstEdge };
}

function totals(s: Snapshot): Map<string, { count: number; size: number }> {
  const sizeAt = s.raw.snapshot.meta.node_fields.indexOf('self_size');
  const byKind = new Map<string, { count: number; size: number }>();
  s.kinds.forEach((kind, n) => {
    const entry = byKind.get(kind) ?? { count: 0, size: 0 };
    entry.count++;
    entry.size += s.raw.nodes[n * s.nodeFields + sizeAt]!;
    byKind.set(kind, entry);
  });
  return byKind;
}

/** For the nodes of `kind` in `b` whose id is not in `a`: their holders, as "holder kind .edge", counted. */
function newHolders(a: Snapshot, b: Snapshot, kinds: Set<string>): Map<string, Map<string, number>> {
  const idAt = a.raw.snapshot.meta.node_fields.indexOf('id');
  const idsOfA = new Set<number>();
  for (let i = idAt; i < a.raw.nodes.length; i += a.nodeFields) idsOfA.add(a.raw.nodes[i]!);
  const edgeTypes = b.raw.snapshot.meta.edge_types[0];
  const edgeTypeAt = b.raw.snapshot.meta.edge_fields.indexOf('type');
  const edgeNameAt = b.raw.snapshot.meta.edge_fields.indexOf('name_or_index');
  const toAt = b.raw.snapshot.meta.edge_fields.indexOf('to_node');
  const holders = new Map<string, Map<string, number>>([...kinds].map((k) => [k, new Map<string, number>()]));
  for (let n = 0; n < b.kinds.length; n++) {
    for (let e = b.firstEdge[n]!; e < b.firstEdge[n + 1]!; e += b.edgeFields) {
      const type = edgeTypes[b.raw.edges[e + edgeTypeAt]!]!;
      if (type === 'weak') continue;
      const to = b.raw.edges[e + toAt]! / b.nodeFields;
      const byHolder = holders.get(b.kinds[to]!);
      if (byHolder === undefined || idsOfA.has(b.raw.nodes[to * b.nodeFields + idAt]!)) continue;
      const name = type === 'element' || type === 'hidden' ? `[${type}]` : `.${b.raw.strings[b.raw.edges[e + edgeNameAt]!]}`;
      const holder = `${b.kinds[n]} ${name}`;
      byHolder.set(holder, (byHolder.get(holder) ?? 0) + 1);
    }
  }
  return holders;
}

const { values: flags, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' } } });
if (positionals.length !== 2) throw new Error('usage: heap-snapshot-diff.js A.heapsnapshot B.heapsnapshot [--top N]');
const top = Number(flags.top);
const [a, b] = positionals.map(load) as [Snapshot, Snapshot];
const [inA, inB] = [totals(a), totals(b)];
const kB = (bytes: number) => (bytes / 1024).toFixed(0);
const rows = [...new Set([...inA.keys(), ...inB.keys()])].map((kind) => {
  const before = inA.get(kind) ?? { count: 0, size: 0 };
  const after = inB.get(kind) ?? { count: 0, size: 0 };
  return { kind, before, after, grown: after.size - before.size };
});
const sum = (m: Map<string, { size: number }>) => [...m.values()].reduce((total, { size }) => total + size, 0);
console.log(`self size: ${kB(sum(inA))} kB in A, ${kB(sum(inB))} kB in B; ${a.kinds.length} → ${b.kinds.length} objects`);
const print = (title: string, selected: typeof rows) => {
  console.log(`\n${title.padEnd(60)}`, 'count A → B'.padStart(22), 'kB A → B'.padStart(18), 'grown kB'.padStart(10));
  for (const { kind, before, after, grown } of selected) {
    console.log(kind.slice(0, 60).padEnd(60), `${before.count} → ${after.count}`.padStart(22), `${kB(before.size)} → ${kB(after.size)}`.padStart(18), kB(grown).padStart(10));
  }
};
print('largest in B', [...rows].sort((x, y) => y.after.size - x.after.size).slice(0, top));
rows.sort((x, y) => y.grown - x.grown);
print('grown most (and shrunk most)', [...rows.slice(0, top), ...rows.slice(-5)]);
const growers = new Set(rows.slice(0, Math.min(top, 12)).map((r) => r.kind));
console.log('\nholders of the objects new in B (not weak), the kinds that grew most:');
for (const [kind, byHolder] of newHolders(a, b, growers)) {
  const held = [...byHolder].sort((x, y) => y[1] - x[1]).slice(0, 4);
  console.log(`  ${kind.slice(0, 60)}: ${held.map(([holder, n]) => `${n} × ${holder.slice(0, 80)}`).join('; ')}`);
}
