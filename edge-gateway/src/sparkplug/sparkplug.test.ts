// SparkplugIngest with the real Ingest in front of a recording sink, payloads encoded by Eclipse
// Tahu's sparkplug-payload (another implementation), and a manual clock for the Rebirth rate limit.
import { ManualClock } from '@pdm/clock';
import { createRequire } from 'node:module';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { Ingest, type RejectReason } from '../ingest/index.js';
import { LogLimiter } from '../ops/log.js';
import { decodeSparkplugPayload } from './payload.js';
import { SparkplugMetrics } from './metrics.js';
import { readingValue } from './reading-value.js';
import { type SparkplugConfig, sparkplugSchema } from './schema.js';
import { SparkplugIngest } from './sparkplug.js';

interface TahuMetric {
  name?: string;
  alias?: number;
  timestamp?: number;
  type: string;
  value: unknown;
  isNull?: boolean;
}
const tahu = (createRequire(import.meta.url)('sparkplug-payload') as { get(v: string): { encodePayload(p: object): Uint8Array } }).get('spBv1.0');
const encode = (payload: { timestamp?: number; seq?: number; metrics: TahuMetric[] }) => Buffer.from(tahu.encodePayload(payload));

const T0 = Date.UTC(2026, 10, 28, 12, 0, 0);

function harness(config: Partial<SparkplugConfig> = {}, maxMachinesPerUser?: number) {
  const clock = new ManualClock(T0);
  const readings: Array<[string, string, number, number]> = [];
  const held = new Map<string, Set<string>>();
  const rejected: Partial<Record<RejectReason, number>> = {};
  const ingest = new Ingest(
    { maxPayloadBytes: 4096, maxFutureSkewMs: 5_000, maxAgeMs: 3_600_000, maxSampleRateHz: 1_000, maxMachines: 100, maxSensorsPerMachine: 100, ...(maxMachinesPerUser !== undefined && { maxMachinesPerUser }) },
    clock,
    {
      add: (m, s, ts, v) => {
        held.set(m, (held.get(m) ?? new Set()).add(s));
        readings.push([m, s, ts, v]);
        return 'accepted';
      },
      addBlock: () => {
        throw new Error('Sparkplug metrics are single readings');
      },
      // Mapped messages are added by their ids: ingest keeps handles for its own topics only.
      addTo: () => {
        throw new Error('Sparkplug metrics are added by ids');
      },
      sensorHandle: () => undefined,
      machineCount: () => held.size,
      sensorsOf: (m) => held.get(m),
    },
    { accepted: () => {}, rejected: (reason, n) => (rejected[reason] = (rejected[reason] ?? 0) + n) },
  );
  const registry = new Registry();
  const metrics = new SparkplugMetrics(registry);
  const commands: Array<{ topic: string; metrics: Array<{ name?: string; value?: number }> }> = [];
  const offline: string[] = [];
  const errors: Array<Record<string, unknown>> = [];
  const sparkplug = new SparkplugIngest(sparkplugSchema.parse(config), {
    ingest,
    maxPayloadBytes: 4096,
    maxNodes: 2,
    metrics,
    clock,
    publish: (topic, payload) => {
      const decoded = decodeSparkplugPayload(payload);
      commands.push({ topic, metrics: decoded.metrics.map((m) => ({ name: m.name, value: readingValue(m.datatype!, m.value) })) });
    },
    offline: (machineId) => offline.push(machineId),
    rejected: () => {},
    log: pino({ level: 'error' }, { write: (line: string) => errors.push(JSON.parse(line) as Record<string, unknown>) }),
    limiter: new LogLimiter(1_000, () => clock.now()),
  });
  const counter = async (name: string, labels: Record<string, string>) => {
    const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
    const value = metric?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
    return value?.value ?? 0;
  };
  const send = (topic: string, payload: { timestamp?: number; seq?: number; metrics: TahuMetric[] }, publisher?: string | null) =>
    sparkplug.handle(`spBv1.0/${topic}`, encode(payload), publisher);
  return { sparkplug, send, clock, readings, rejected, commands, offline, errors, counter };
}

/**
 * Runs edge node `node` of group plant for `seconds` of the harness clock: `data` every second, and
 * `births` at each Rebirth request to it, as Tahu's edge nodes do. Returns when (ms after T0) it was asked.
 */
function runEdgeNode(h: ReturnType<typeof harness>, node: string, seconds: number, births: () => void, data: () => void): number[] {
  const requestedAt: number[] = [];
  const requests = () => h.commands.filter((c) => c.topic === `spBv1.0/plant/NCMD/${node}`).length;
  let answered = requests();
  for (let s = 0; s < seconds; s++) {
    data();
    for (; answered < requests(); answered++) {
      requestedAt.push(h.clock.now() - T0);
      births();
    }
    h.clock.advance(1_000);
  }
  return requestedAt;
}

const REBIRTH = { topic: 'spBv1.0/plant/NCMD/edge-1', metrics: [{ name: 'Node Control/Rebirth', value: 1 }] };

/** An edge node edge-1 born with a node metric and a device press-3 born with two aliased metrics. */
function born(h: ReturnType<typeof harness>) {
  h.send('plant/NBIRTH/edge-1', {
    timestamp: T0,
    seq: 0,
    metrics: [
      { name: 'bdSeq', type: 'UInt64', value: 4 },
      { name: 'Node Control/Rebirth', type: 'Boolean', value: false },
      { name: 'CPU Load', alias: 1, type: 'Float', value: 0.25 },
    ],
  });
  h.send('plant/DBIRTH/edge-1/press-3', {
    timestamp: T0,
    seq: 1,
    metrics: [
      { name: 'Inputs/Temp', alias: 10, type: 'Double', value: 20 },
      { name: 'Running', alias: 11, type: 'Boolean', value: true },
      { name: 'Mode', alias: 12, type: 'String', value: 'auto' },
    ],
  });
}

describe('SparkplugIngest', () => {
  it('registers births and turns DATA metrics resolved by alias into readings at their timestamps', async () => {
    const h = harness();
    born(h);
    h.send('plant/DDATA/edge-1/press-3', {
      timestamp: T0 + 2_000,
      seq: 2,
      metrics: [
        { alias: 10, timestamp: T0 + 1_500, type: 'Double', value: 21.5 },
        { alias: 11, type: 'Boolean', value: false }, // no metric timestamp: the payload's
        { alias: 12, type: 'String', value: 'manual' }, // no reading
      ],
    });
    h.send('plant/NDATA/edge-1', { seq: 3, metrics: [{ name: 'CPU Load', type: 'Float', value: 0.5 }] }); // by name, at gateway time

    expect(h.readings).toEqual([
      ['edge-1', 'CPU_Load_049d7cce', T0, 0.25], // bdSeq and Node Control/Rebirth are protocol, no readings
      ['press-3', 'Inputs_Temp_6be6619b', T0, 20],
      ['press-3', 'Running', T0, 1],
      ['press-3', 'Inputs_Temp_6be6619b', T0 + 1_500, 21.5],
      ['press-3', 'Running', T0 + 2_000, 0],
      ['edge-1', 'CPU_Load_049d7cce', T0, 0.5],
    ]);
    expect(h.commands).toEqual([]);
    expect(await h.counter('pdm_gateway_sparkplug_messages_total', { type: 'DBIRTH', outcome: 'registered' })).toBe(1);
    expect(await h.counter('pdm_gateway_sparkplug_messages_total', { type: 'DDATA', outcome: 'ingested' })).toBe(1);
    expect(await h.counter('pdm_gateway_sparkplug_metrics_skipped_total', { reason: 'not_numeric' })).toBe(2); // Mode in DBIRTH and DDATA
  });

  it('answers a sequence gap with one Rebirth request per interval, and still ingests what it can resolve', async () => {
    const h = harness({ rebirthIntervalMs: 5_000 });
    born(h);
    h.send('plant/DDATA/edge-1/press-3', { seq: 4, metrics: [{ alias: 10, timestamp: T0 + 1_000, type: 'Double', value: 30 }] }); // 2 expected
    h.send('plant/DDATA/edge-1/press-3', { seq: 7, metrics: [{ alias: 10, timestamp: T0 + 2_000, type: 'Double', value: 31 }] }); // 5 expected
    expect(h.commands).toEqual([REBIRTH]);
    h.clock.advance(5_000);
    h.send('plant/DDATA/edge-1/press-3', { seq: 9, metrics: [{ alias: 10, timestamp: T0 + 3_000, type: 'Double', value: 32 }] }); // 8 expected
    expect(h.commands).toEqual([REBIRTH, REBIRTH]);
    expect(h.readings.slice(-3).map((r) => r[3])).toEqual([30, 31, 32]);
    expect(await h.counter('pdm_gateway_sparkplug_rebirths_requested_total', { reason: 'seq_gap' })).toBe(2);
  });

  it('after the broker connection dropped, holds every node\'s data until its next NBIRTH, asked for once; its NDEATH still counts', async () => {
    const h = harness();
    born(h);
    h.sparkplug.connectionLost();
    // The seq expected, but the node may have been born again meanwhile with alias 10 naming another metric.
    h.send('plant/DDATA/edge-1/press-3', { seq: 2, metrics: [{ alias: 10, timestamp: T0 + 1_000, type: 'Double', value: 30 }] });
    h.send('plant/NDATA/edge-1', { seq: 3, metrics: [{ alias: 1, timestamp: T0 + 1_000, type: 'Float', value: 0.5 }] });
    expect(h.commands).toEqual([REBIRTH]);
    expect(await h.counter('pdm_gateway_sparkplug_rebirths_requested_total', { reason: 'reconnect' })).toBe(1);
    expect(h.offline).toEqual([]); // its machines are still its own: no window closed for a broker connection
    born(h);
    h.send('plant/DDATA/edge-1/press-3', { seq: 2, metrics: [{ alias: 10, timestamp: T0 + 2_000, type: 'Double', value: 31 }] });
    // The births' readings, twice, and the DDATA after the second birth only.
    expect(h.readings.map((r) => r[3])).toEqual([0.25, 20, 1, 0.25, 20, 1, 31]);

    h.sparkplug.connectionLost();
    h.send('plant/NDEATH/edge-1', { metrics: [{ name: 'bdSeq', type: 'UInt64', value: 4 }] }); // its will, queued for the session
    expect(h.offline).toEqual(['press-3', 'edge-1']);
    expect(h.commands).toEqual([REBIRTH]);
  });

  it('follows seq from 255 back to 0 without a gap', () => {
    const h = harness();
    h.send('plant/NBIRTH/edge-1', { seq: 254, metrics: [{ name: 'x', alias: 1, type: 'Double', value: 1 }] });
    for (const seq of [255, 0, 1]) h.send('plant/NDATA/edge-1', { seq, metrics: [{ alias: 1, type: 'Double', value: seq }] });
    expect(h.commands).toEqual([]);
    expect(h.readings.map((r) => r[3])).toEqual([1, 255, 0, 1]);
  });

  it('asks a node for its births when its DATA comes first, or names an alias no birth declared', async () => {
    const h = harness();
    h.send('plant/DDATA/edge-1/press-3', { seq: 5, metrics: [{ alias: 10, type: 'Double', value: 1 }] });
    expect(h.commands).toEqual([REBIRTH]);
    expect(await h.counter('pdm_gateway_sparkplug_rebirths_requested_total', { reason: 'no_birth' })).toBe(1);
    expect(await h.counter('pdm_gateway_sparkplug_messages_total', { type: 'DDATA', outcome: 'no_birth' })).toBe(1);

    h.clock.advance(10_000);
    born(h);
    h.send('plant/DDATA/edge-1/press-3', { seq: 2, metrics: [{ alias: 99, type: 'Double', value: 1 }, { alias: 10, type: 'Double', value: 2 }] });
    expect(h.commands).toEqual([REBIRTH, REBIRTH]);
    expect(h.readings.at(-1)).toEqual(['press-3', 'Inputs_Temp_6be6619b', T0 + 10_000, 2]);
    expect(await h.counter('pdm_gateway_sparkplug_metrics_skipped_total', { reason: 'unknown_alias' })).toBe(1);
  });

  it('takes a device offline at its DDEATH and a node with all its devices at its NDEATH; a stale NDEATH is ignored', async () => {
    const h = harness();
    born(h);
    h.send('plant/DBIRTH/edge-1/press-4', { seq: 2, metrics: [{ name: 'Temp', alias: 20, type: 'Double', value: 1 }] });
    h.send('plant/DDEATH/edge-1/press-4', { seq: 3, metrics: [] });
    expect(h.offline).toEqual(['press-4']);
    h.send('plant/NDEATH/edge-1', { metrics: [{ name: 'bdSeq', type: 'UInt64', value: 3 }] }); // an earlier connection's will
    expect(h.offline).toEqual(['press-4']);
    expect(await h.counter('pdm_gateway_sparkplug_messages_total', { type: 'NDEATH', outcome: 'ignored' })).toBe(1);
    h.send('plant/NDEATH/edge-1', { metrics: [{ name: 'bdSeq', type: 'UInt64', value: 4 }] });
    expect(h.offline).toEqual(['press-4', 'press-3', 'edge-1']);
    expect(await h.counter('pdm_gateway_sparkplug_messages_total', { type: 'NDEATH', outcome: 'offline' })).toBe(1);
    // Dead: its data waits for a new birth.
    h.send('plant/NDATA/edge-1', { seq: 4, metrics: [{ alias: 1, type: 'Float', value: 1 }] });
    expect(h.commands).toEqual([REBIRTH]);
  });

  it('maps devices and nodes to machines by sparkplug.machineId and nodeMachineId', () => {
    const h = harness({ machineId: '{group}-{node}-{device}', nodeMachineId: 'node.{node}' });
    h.send('plant/NBIRTH/edge 1', { seq: 0, metrics: [{ name: 'load', alias: 1, type: 'Double', value: 1 }] });
    h.send('plant/DBIRTH/edge 1/press-3', { seq: 1, metrics: [{ name: 'temp', alias: 2, type: 'Double', value: 2 }] });
    expect(h.readings.map((r) => r[0])).toEqual(['node.edge_1_04cf96e0', 'plant-edge_1_04cf96e0-press-3']);
    expect(() => sparkplugSchema.parse({ nodeMachineId: '{device}' })).toThrow(/placeholders \{group\}, \{node\}/);
  });

  it('refuses what is no Sparkplug message, counted like any refused message', async () => {
    const h = harness();
    h.sparkplug.handle('spBv1.0/plant/NDATA/edge-1/extra', encode({ metrics: [] }));
    h.sparkplug.handle('spBv1.0/plant/NDATA/edge-1', Buffer.from([0x12, 0x05, 0x0a])); // a metric cut short
    h.sparkplug.handle('spBv1.0/plant/NDATA/edge-1', Buffer.alloc(5_000));
    h.sparkplug.handle('spBv1.0/STATE/scada-1', Buffer.from('{"online":true}'));
    h.sparkplug.handle('spBv1.0/plant/NCMD/edge-1', encode({ metrics: [] }));
    expect(h.rejected).toEqual({ bad_topic: 1, bad_protobuf: 1, too_large: 1 });
    expect(await h.counter('pdm_gateway_sparkplug_messages_total', { type: 'STATE', outcome: 'ignored' })).toBe(1);
    expect(await h.counter('pdm_gateway_sparkplug_messages_total', { type: 'NCMD', outcome: 'ignored' })).toBe(1);
    expect(h.readings).toEqual([]);
  });

  it('passes readings through ingest validation: a timestamp too far ahead is refused there', () => {
    const h = harness();
    h.send('plant/NBIRTH/edge-1', { seq: 0, metrics: [{ name: 'x', alias: 1, timestamp: T0 + 60_000, type: 'Double', value: 1 }] });
    expect(h.rejected).toEqual({ future_ts: 1 });
    expect(h.readings).toEqual([]);
  });

  it('refuses a metric whose sensor id another metric of its device has: no sensor mixes two metrics', async () => {
    const h = harness();
    h.send('plant/NBIRTH/edge-1', { seq: 0, metrics: [] });
    h.send('plant/DBIRTH/edge-1/press-3', {
      seq: 1,
      metrics: [
        { name: 'Inputs/Temp', alias: 1, type: 'Double', value: 1 },
        { name: 'Inputs_Temp_6be6619b', alias: 2, type: 'Double', value: 2 }, // spelt as the first one's id
      ],
    });
    h.send('plant/DDATA/edge-1/press-3', { seq: 2, metrics: [{ alias: 2, type: 'Double', value: 3 }] });
    expect(h.readings.map((r) => [r[1], r[3]])).toEqual([['Inputs_Temp_6be6619b', 1]]);
    expect(await h.counter('pdm_gateway_sparkplug_metrics_skipped_total', { reason: 'clash' })).toBe(2); // in the DBIRTH and the DDATA
    expect(h.commands).toEqual([]); // a known metric: no rebirth would cure the clash
  });

  it('keeps the births of at most validation.maxMachines edge nodes, and as many devices per node', async () => {
    const h = harness(); // maxNodes 2
    for (const node of ['a', 'b', 'c']) h.send(`plant/NBIRTH/${node}`, { seq: 0, metrics: [] });
    expect(await h.counter('pdm_gateway_sparkplug_messages_total', { type: 'NBIRTH', outcome: 'registered' })).toBe(2);
    expect(await h.counter('pdm_gateway_sparkplug_messages_total', { type: 'NBIRTH', outcome: 'too_many_nodes' })).toBe(1);
    for (const [i, device] of ['d1', 'd2', 'd3', 'd1'].entries()) h.send(`plant/DBIRTH/a/${device}`, { seq: i + 1, metrics: [] });
    expect(await h.counter('pdm_gateway_sparkplug_messages_total', { type: 'DBIRTH', outcome: 'registered' })).toBe(3); // d1, d2, d1 again
    expect(await h.counter('pdm_gateway_sparkplug_messages_total', { type: 'DBIRTH', outcome: 'too_many_devices' })).toBe(1);
  });

  it('caps an MQTT user at validation.maxMachinesPerUser, not a bridge upstream (publisher null)', () => {
    const births = (h: ReturnType<typeof harness>, publisher: string | null) => {
      h.send('plant/NBIRTH/edge-1', { seq: 0, metrics: [] }, publisher);
      // Two devices: the harness keeps the births of at most 2 (maxNodes) devices per node.
      ['press-1', 'press-2'].forEach((device, i) =>
        h.send(`plant/DBIRTH/edge-1/${device}`, { seq: i + 1, metrics: [{ name: 'Temp', alias: 1, type: 'Double', value: 20, timestamp: T0 }] }, publisher),
      );
      return new Set(h.readings.map(([machine]) => machine));
    };
    expect(births(harness({}, 1), 'line-1-plc')).toEqual(new Set(['press-1']));
    expect(births(harness({}, 1), null)).toEqual(new Set(['press-1', 'press-2']));
  });
  it('refuses the DBIRTH of a device whose machine another node\'s device feeds, until that one dies', async () => {
    const h = harness(); // sparkplug.machineId "{device}": pump-1 of edge-1 and of edge-2 are one machine
    for (const node of ['edge-1', 'edge-2']) h.send(`plant/NBIRTH/${node}`, { seq: 0, metrics: [] });
    const temp = (type: 'DBIRTH' | 'DDATA', node: string, seq: number, value: number) =>
      h.send(`plant/${type}/${node}/pump-1`, { seq, metrics: [type === 'DBIRTH' ? { name: 'Temp', alias: 1, type: 'Double', value } : { alias: 1, type: 'Double', value }] });
    temp('DBIRTH', 'edge-1', 1, 1);
    temp('DBIRTH', 'edge-2', 1, 100);
    temp('DDATA', 'edge-1', 2, 2);
    temp('DDATA', 'edge-2', 2, 200);
    temp('DBIRTH', 'edge-2', 3, 300); // its answer to the Rebirth request: refused again
    h.send('plant/DDEATH/edge-2/pump-1', { seq: 4, metrics: [] });

    expect(h.readings.map(([machine, , , value]) => [machine, value])).toEqual([
      ['pump-1', 1],
      ['pump-1', 2],
    ]);
    expect(h.offline).toEqual([]); // edge-2's pump-1 fed no machine: edge-1's pump-1 stays open
    expect(await h.counter('pdm_gateway_sparkplug_messages_total', { type: 'DBIRTH', outcome: 'machine_id_clash' })).toBe(2);
    expect(await h.counter('pdm_gateway_sparkplug_messages_total', { type: 'DDATA', outcome: 'no_birth' })).toBe(1);
    expect(await h.counter('pdm_gateway_sparkplug_messages_total', { type: 'DDEATH', outcome: 'no_birth' })).toBe(1);
    expect(h.errors).toEqual([
      expect.objectContaining({ machine: 'pump-1', owner: 'plant/edge-1', source: 'plant/edge-2/pump-1', configKey: 'sparkplug.machineId', example: '{node}-{device}' }),
    ]); // once, not at each refused birth

    // The owner's death frees the machine: edge-2's next birth takes it, and edge-1's is refused.
    h.send('plant/DDEATH/edge-1/pump-1', { seq: 3, metrics: [] });
    expect(h.offline).toEqual(['pump-1']);
    temp('DBIRTH', 'edge-2', 5, 500);
    temp('DBIRTH', 'edge-1', 4, 4);
    temp('DDATA', 'edge-2', 6, 600);
    expect(h.readings.slice(2).map(([machine, , , value]) => [machine, value])).toEqual([
      ['pump-1', 500],
      ['pump-1', 600],
    ]);
    expect(h.errors.map((e) => [e.owner, e.source])).toEqual([
      ['plant/edge-1', 'plant/edge-2/pump-1'],
      ['plant/edge-2', 'plant/edge-1/pump-1'],
    ]);
    // edge-1's death takes offline only what it feeds: nothing (its NBIRTH declared no reading), not pump-1.
    h.send('plant/NDEATH/edge-1', { metrics: [] });
    expect(h.offline).toEqual(['pump-1']);
  });

  it('refuses the NBIRTH of a node whose machine another group\'s node feeds; its NDEATH closes none of that one\'s windows', async () => {
    const h = harness(); // sparkplug.nodeMachineId "{node}"
    const birth = (group: string, bdSeq: number, value: number) =>
      h.send(`${group}/NBIRTH/edge-1`, { seq: 0, metrics: [{ name: 'bdSeq', type: 'UInt64', value: bdSeq }, { name: 'Load', alias: 1, type: 'Double', value }] });
    const death = (group: string, bdSeq: number) => h.send(`${group}/NDEATH/edge-1`, { metrics: [{ name: 'bdSeq', type: 'UInt64', value: bdSeq }] });
    birth('plant-a', 1, 1);
    birth('plant-b', 7, 100);
    h.send('plant-b/NDATA/edge-1', { seq: 1, metrics: [{ alias: 1, type: 'Double', value: 200 }] });
    death('plant-b', 7);
    h.send('plant-a/NDATA/edge-1', { seq: 1, metrics: [{ alias: 1, type: 'Double', value: 2 }] });

    expect(h.readings.map(([machine, , , value]) => [machine, value])).toEqual([
      ['edge-1', 1],
      ['edge-1', 2],
    ]);
    expect(h.offline).toEqual([]);
    expect(await h.counter('pdm_gateway_sparkplug_messages_total', { type: 'NBIRTH', outcome: 'machine_id_clash' })).toBe(1);
    expect(await h.counter('pdm_gateway_sparkplug_messages_total', { type: 'NDEATH', outcome: 'no_birth' })).toBe(1);
    expect(h.errors).toEqual([
      expect.objectContaining({ machine: 'edge-1', owner: 'plant-a/edge-1', source: 'plant-b/edge-1', configKey: 'sparkplug.nodeMachineId', example: '{group}-{node}' }),
    ]);

    death('plant-a', 1);
    expect(h.offline).toEqual(['edge-1']);
    birth('plant-b', 8, 300);
    expect(h.readings.at(-1)).toEqual(['edge-1', 'Load', T0, 300]);
  });

  it('asks a node refused beyond validation.maxMachines for its births less and less often, then as usual once they are taken', async () => {
    const h = harness({ rebirthIntervalMs: 1_000 }); // maxNodes 2
    for (const node of ['a', 'b']) h.send(`plant/NBIRTH/${node}`, { seq: 0, metrics: [] });
    let seq = 0;
    const births = () => h.send('plant/NBIRTH/c', { seq: (seq = 0), metrics: [{ name: 'Load', alias: 1, type: 'Double', value: -1 }] });
    const data = () => h.send('plant/NDATA/c', { seq: (seq = (seq + 1) % 256), metrics: [{ alias: 1, type: 'Double', value: h.clock.now() - T0 }] });
    births();

    // Each request is answered by an NBIRTH refused again: the waits double, up to 32 intervals.
    expect(runEdgeNode(h, 'c', 100, births, data)).toEqual([0, 2_000, 6_000, 14_000, 30_000, 62_000, 94_000]);
    expect(await h.counter('pdm_gateway_sparkplug_messages_total', { type: 'NBIRTH', outcome: 'too_many_nodes' })).toBe(8);
    expect(h.readings).toEqual([]);

    // a's death makes room: c's next request (32 intervals on) has its NBIRTH taken, its data ingested.
    h.send('plant/NDEATH/a', { metrics: [] });
    expect(runEdgeNode(h, 'c', 30, births, data)).toEqual([126_000]);
    expect(h.readings.map(([machine, , , value]) => [machine, value])).toEqual([
      ['c', -1],
      ['c', 127_000],
      ['c', 128_000],
      ['c', 129_000],
    ]);
    // Its births taken, a sequence gap is answered after one interval, no longer 32.
    h.send('plant/NDATA/c', { seq: 200, metrics: [] });
    expect(h.commands).toHaveLength(9);
  });

  it('backs off the Rebirth requests of a node whose DBIRTH is refused, though its NBIRTH is taken; the clash is logged once', async () => {
    const h = harness({ rebirthIntervalMs: 1_000 });
    h.send('plant/NBIRTH/edge-1', { seq: 0, metrics: [] });
    h.send('plant/DBIRTH/edge-1/pump-1', { seq: 1, metrics: [{ name: 'Temp', alias: 1, type: 'Double', value: 0 }] });
    // edge-2's pump-1 is edge-1's pump-1 (sparkplug.machineId "{device}"), its pump-2 a machine of its own.
    let seq = 0;
    const next = () => (seq = (seq + 1) % 256);
    const births = () => {
      h.send('plant/NBIRTH/edge-2', { seq: (seq = 0), metrics: [] });
      for (const device of ['pump-1', 'pump-2']) h.send(`plant/DBIRTH/edge-2/${device}`, { seq: next(), metrics: [{ name: 'Temp', alias: 1, type: 'Double', value: -1 }] });
    };
    const data = () => {
      for (const device of ['pump-1', 'pump-2']) h.send(`plant/DDATA/edge-2/${device}`, { seq: next(), metrics: [{ alias: 1, type: 'Double', value: h.clock.now() - T0 }] });
    };
    births();

    expect(runEdgeNode(h, 'edge-2', 100, births, data)).toEqual([0, 2_000, 6_000, 14_000, 30_000, 62_000, 94_000]);
    expect(await h.counter('pdm_gateway_sparkplug_messages_total', { type: 'DBIRTH', outcome: 'machine_id_clash' })).toBe(8);
    expect(await h.counter('pdm_gateway_sparkplug_messages_total', { type: 'DDATA', outcome: 'ingested' })).toBe(100); // pump-2's
    expect(new Set(h.readings.slice(1).map(([machine]) => machine))).toEqual(new Set(['pump-2'])); // after edge-1's pump-1 birth
    expect(h.errors).toHaveLength(1);
  });

  it('takes an NBIRTH declaring no reading (bdSeq, Node Control/*): it feeds no machine, so nodes of one id in two groups both have their devices', async () => {
    const h = harness(); // nodeMachineId "{node}": a node's own readings would be machine edge-1 in either group
    for (const [group, device] of [['plant-a', 'press-1'], ['plant-b', 'press-2']]) {
      h.send(`${group}/NBIRTH/edge-1`, { seq: 0, metrics: [{ name: 'bdSeq', type: 'UInt64', value: 0 }, { name: 'Node Control/Rebirth', type: 'Boolean', value: false }] });
      h.send(`${group}/DBIRTH/edge-1/${device}`, { seq: 1, metrics: [{ name: 'Temp', alias: 1, type: 'Double', value: 1 }] });
      h.send(`${group}/DDATA/edge-1/${device}`, { seq: 2, metrics: [{ alias: 1, type: 'Double', value: 2 }] });
    }

    expect(h.readings.map(([machine, , , value]) => [machine, value])).toEqual([
      ['press-1', 1],
      ['press-1', 2],
      ['press-2', 1],
      ['press-2', 2],
    ]);
    expect(await h.counter('pdm_gateway_sparkplug_messages_total', { type: 'NBIRTH', outcome: 'registered' })).toBe(2);
    expect(await h.counter('pdm_gateway_sparkplug_messages_total', { outcome: 'machine_id_clash' })).toBe(0);
    expect(h.errors).toEqual([]);
    expect(h.commands).toEqual([]);
    // A node's death reports offline its devices' machines, none for its own metrics.
    h.send('plant-a/NDEATH/edge-1', { metrics: [{ name: 'bdSeq', type: 'UInt64', value: 0 }] });
    expect(h.offline).toEqual(['press-1']);
  });

  it('merges the devices of one node into machine "{node}" (sparkplug.machineId), free only once none of the node\'s sources feeds it; another node\'s are refused', async () => {
    const h = harness({ machineId: '{node}' });
    h.send('plant/NBIRTH/edge-1', { seq: 0, metrics: [{ name: 'bdSeq', type: 'UInt64', value: 1 }] });
    ['press-1', 'press-2'].forEach((device, i) => h.send(`plant/DBIRTH/edge-1/${device}`, { seq: i + 1, metrics: [{ name: `Temp ${i + 1}`, alias: 1, type: 'Double', value: 10 * (i + 1) }] }));
    // Another group's edge-1 maps its device to the same machine: refused while plant/edge-1 feeds it.
    h.send('plant-b/NBIRTH/edge-1', { seq: 0, metrics: [] });
    h.send('plant-b/DBIRTH/edge-1/press-9', { seq: 1, metrics: [{ name: 'Temp', alias: 1, type: 'Double', value: 900 }] });
    h.send('plant/DDEATH/edge-1/press-1', { seq: 3, metrics: [] });
    expect(h.offline).toEqual([]); // press-2 still feeds edge-1
    h.send('plant/DDATA/edge-1/press-2', { seq: 4, metrics: [{ alias: 1, type: 'Double', value: 21 }] });

    expect(h.readings.map(([machine, sensor, , value]) => [machine, sensor, value])).toEqual([
      ['edge-1', 'Temp_1_c1e76483', 10],
      ['edge-1', 'Temp_2_0d9f7429', 20],
      ['edge-1', 'Temp_2_0d9f7429', 21],
    ]);
    expect(await h.counter('pdm_gateway_sparkplug_messages_total', { type: 'DBIRTH', outcome: 'registered' })).toBe(2);
    expect(await h.counter('pdm_gateway_sparkplug_messages_total', { type: 'DBIRTH', outcome: 'machine_id_clash' })).toBe(1);
    expect(h.errors).toEqual([expect.objectContaining({ machine: 'edge-1', owner: 'plant/edge-1', source: 'plant-b/edge-1/press-9' })]);
    h.send('plant/NDEATH/edge-1', { metrics: [{ name: 'bdSeq', type: 'UInt64', value: 1 }] });
    expect(h.offline).toEqual(['edge-1']); // once
  });

  it('keeps a machine its node\'s own metrics feed past the DDEATH of a device mapped to it', () => {
    const h = harness({ machineId: '{node}' }); // nodeMachineId "{node}" too: node and devices are machine edge-1
    h.send('plant/NBIRTH/edge-1', { seq: 0, metrics: [{ name: 'Load', alias: 1, type: 'Double', value: 1 }] });
    h.send('plant/DBIRTH/edge-1/press-1', { seq: 1, metrics: [{ name: 'Temp', alias: 1, type: 'Double', value: 2 }] });
    h.send('plant/DDEATH/edge-1/press-1', { seq: 2, metrics: [] });
    expect(h.offline).toEqual([]);
    h.send('plant/NDEATH/edge-1', { metrics: [] });
    expect(h.offline).toEqual(['edge-1']);
    expect(h.readings.map(([machine, sensor]) => [machine, sensor])).toEqual([
      ['edge-1', 'Load'],
      ['edge-1', 'Temp'],
    ]);
  });

  it('takes no reading of a metric its birth declared no reading metric, whatever datatype its DATA names: that birth claimed no machine', async () => {
    const h = harness();
    h.send('plant/NBIRTH/edge-1', { seq: 0, metrics: [{ name: 'Mode', alias: 1, type: 'String', value: 'auto' }] });
    h.send('plant/NDATA/edge-1', { seq: 1, metrics: [{ alias: 1, type: 'Double', value: 1 }] });
    expect(h.readings).toEqual([]);
    expect(await h.counter('pdm_gateway_sparkplug_metrics_skipped_total', { reason: 'not_numeric' })).toBe(2);
  });
});
