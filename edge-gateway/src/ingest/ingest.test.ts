import { SensorBatchSchema, create, toBinary } from '@pdm/proto';
import { describe, expect, it } from 'vitest';
import type { AddResult } from '../window/index.js';
import { Ingest, IngestRejection, type IngestLimits, type RejectReason } from './index.js';

const NOW = Date.UTC(2026, 10, 28, 12, 0, 0);
const limits: IngestLimits = {
  maxPayloadBytes: 1024,
  maxFutureSkewMs: 5_000,
  maxAgeMs: 3_600_000,
  maxSampleRateHz: 100_000,
  maxMachines: 100,
  maxSensorsPerMachine: 100,
};

/**
 * `fate` says what the window engine makes of a reading at `ts`; by default every one goes into a
 * window. The fake engine holds the ids of every reading it was given, until `forget`.
 */
function harness(fate: (ts: number) => AddResult = () => 'accepted', caps: Partial<IngestLimits> = {}, clock = { now: () => NOW }) {
  const points: Array<[string, string, number, number]> = [];
  /** The arrival time given with each add or addBlock. */
  const arrivals: number[] = [];
  const held = new Map<string, Set<string>>();
  const hold = (m: string, s: string) => held.set(m, (held.get(m) ?? new Set()).add(s));
  // The engine's handles of the sensors it holds; `forget` lets go of them as the engine does.
  const handles = new Map<string, { held: boolean; m: string; s: string }>();
  let addedByHandle = 0;
  const rejected: Partial<Record<RejectReason, number>> = {};
  let accepted = 0;
  const ingest = new Ingest(
    { ...limits, ...caps },
    clock,
    {
      add: (m, s, ts, v, now) => {
        hold(m, s);
        points.push([m, s, ts, v]);
        arrivals.push(now);
        return fate(ts);
      },
      addTo: (handle, ts, v, now) => {
        const { held: stillHeld, m, s } = handle as { held: boolean; m: string; s: string };
        if (!stillHeld) throw new Error(`a reading for ${m}/${s} through a handle of a sensor the engine forgot: lost`);
        addedByHandle++;
        points.push([m, s, ts, v]);
        arrivals.push(now);
        return fate(ts);
      },
      sensorHandle: (m, s) => {
        if (!held.get(m)?.has(s)) return undefined;
        const key = `${m}/${s}`;
        const handle = handles.get(key) ?? { held: true, m, s };
        handles.set(key, handle);
        return handle;
      },
      addBlock: (m, s, start, hz, values, now) => {
        hold(m, s);
        arrivals.push(now);
        const result = { accepted: 0, late: 0, tooLate: 0, invalid: 0 };
        for (let i = 0; i < values.length; i++) {
          const ts = start + (i * 1000) / hz;
          points.push([m, s, ts, values[i]!]);
          const outcome = fate(ts);
          if (outcome === 'accepted') result.accepted++;
          else if (outcome === 'late') result.late++;
          else if (outcome === 'too_late') result.tooLate++;
          else result.invalid++;
        }
        return result;
      },
      machineCount: () => held.size,
      sensorsOf: (m) => held.get(m),
    },
    { accepted: (n) => (accepted += n), rejected: (reason, n) => (rejected[reason] = (rejected[reason] ?? 0) + n) },
  );
  const json = (topic: string, body: unknown) => ingest.handle(topic, Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)));
  const forget = (machineId: string) => {
    held.delete(machineId);
    for (const [key, handle] of handles) {
      if (handle.m !== machineId) continue;
      handle.held = false;
      handles.delete(key);
    }
  };
  return { ingest, json, points, arrivals, rejected, accepted: () => accepted, forget, addedByHandle: () => addedByHandle };
}

describe('ingest of JSON payloads', () => {
  it('accepts a single reading with epoch ms, ISO-8601 or no timestamp', () => {
    const h = harness();
    h.json('sensors/pump-1/temp', { ts: NOW - 1000, value: 61.5 });
    h.json('sensors/pump-1/temp', { ts: new Date(NOW - 500).toISOString(), value: 62 });
    h.json('sensors/pump-1/temp', { value: 63 });
    expect(h.points).toEqual([
      ['pump-1', 'temp', NOW - 1000, 61.5],
      ['pump-1', 'temp', NOW - 500, 62],
      ['pump-1', 'temp', NOW, 63],
    ]);
    expect(h.accepted()).toBe(3);
  });

  it('gives the window engine the time it validated the readings at as their arrival, its one read of the clock', () => {
    // A clock that moves on at every read: a second read per message would show in the arrivals.
    let t = NOW;
    const h = harness(undefined, {}, { now: () => t++ });
    // Without a ts, a reading is placed at the time it was validated at.
    h.json('sensors/pump-1/temp', { value: 61.5 });
    h.json('sensors/pump-1/temp', { samples: [{ value: 1 }] });
    // At the very edge of the future skew allowed from the third read: accepted only if validated at it.
    h.json('sensors/pump-1/vib', { ts: NOW + 2 + limits.maxFutureSkewMs, hz: 4, values: [0.1] });
    expect(h.accepted()).toBe(3);
    expect(h.arrivals).toEqual([NOW, NOW + 1, NOW + 2]);
    expect(h.points.map((p) => p[2])).toEqual([NOW, NOW + 1, NOW + 2 + limits.maxFutureSkewMs]);
  });

  it('accepts a sampled block and places each sample at its own time', () => {
    const h = harness();
    const outcome = h.json('sensors/fan-2/vib_x', { ts: NOW - 1000, hz: 4, values: [0.1, 0.2, 0.3] });
    expect(outcome).toEqual({ accepted: 3, rejected: 0 });
    expect(h.points.map((p) => p[2])).toEqual([NOW - 1000, NOW - 750, NOW - 500]);
  });

  it('accepts a samples list', () => {
    const h = harness();
    h.json('sensors/m/s', { samples: [{ ts: NOW - 2, value: 1 }, { ts: NOW - 1, value: 2 }] });
    expect(h.points.map((p) => p[3])).toEqual([1, 2]);
  });

  it.each<[string, string, unknown, RejectReason]>([
    ['not JSON', 'sensors/m/s', '{"value": 1', 'bad_json'],
    ['an array', 'sensors/m/s', [1, 2], 'bad_payload'],
    ['an unknown shape', 'sensors/m/s', { reading: 1 }, 'bad_payload'],
    ['a string value', 'sensors/m/s', { value: '1.5' }, 'not_finite'],
    ['a null value', 'sensors/m/s', { value: null }, 'not_finite'],
    ['a value whose powers overflow a window', 'sensors/m/s', { value: -1e300 }, 'not_finite'],
    ['an unparsable ts', 'sensors/m/s', { ts: 'yesterday', value: 1 }, 'bad_ts'],
    ['a boolean ts', 'sensors/m/s', { ts: true, value: 1 }, 'bad_ts'],
    ['a ts from the future', 'sensors/m/s', { ts: NOW + 60_000, value: 1 }, 'future_ts'],
    ['a ts too old', 'sensors/m/s', { ts: NOW - 7_200_000, value: 1 }, 'too_old'],
    ['a block without rate', 'sensors/m/s', { ts: NOW, values: [1] }, 'bad_rate'],
    ['a block with rate 0', 'sensors/m/s', { ts: NOW, hz: 0, values: [1] }, 'bad_rate'],
    ['a block without ts', 'sensors/m/s', { hz: 10, values: [1] }, 'bad_payload'],
    ['an empty block', 'sensors/m/s', { ts: NOW, hz: 10, values: [] }, 'bad_payload'],
    ['a topic outside sensors/', 'machines/m/s', { value: 1 }, 'bad_topic'],
    ['a topic with a bad id', 'sensors/m!/s', { value: 1 }, 'bad_topic'],
    ['a topic with an id over 64 chars', `sensors/${'m'.repeat(65)}/s`, { value: 1 }, 'bad_topic'],
    ['a topic with extra levels', 'sensors/m/s/x', { value: 1 }, 'bad_topic'],
    ['an oversized payload', 'sensors/m/s', { value: 1, pad: 'x'.repeat(2000) }, 'too_large'],
  ])('rejects %s with its reason code and keeps nothing', (_what, topic, body, reason) => {
    const h = harness();
    const outcome = h.json(topic, body);
    expect(outcome.rejection?.reason).toBe(reason);
    expect(outcome.rejection?.message.length).toBeGreaterThan(10);
    expect(h.rejected).toEqual({ [reason]: 1 });
    expect(h.points).toEqual([]);
  });

  it('says when a timestamp looks like epoch nanoseconds, beyond what a Date holds, and keeps the readings before it counted', () => {
    const h = harness();
    const ns = NOW * 1_000_000;
    const outcome = h.json('sensors/m/s', { samples: [{ ts: NOW - 2, value: 1 }, { ts: ns, value: 2 }] });
    expect(outcome).toMatchObject({ accepted: 1, rejected: 1 });
    expect(outcome.rejection?.reason).toBe('future_ts');
    expect(outcome.rejection?.message).toBe(`ts ${ns} is more than 5000 ms ahead of the gateway clock (it looks like epoch microseconds or nanoseconds; send milliseconds)`);
    expect(h.points.map((p) => p[3])).toEqual([1]);
    expect(h.accepted()).toBe(1);
    expect(h.rejected).toEqual({ future_ts: 1 });
    // A sampled block so slow that its end is beyond any date.
    const slow = h.json('sensors/m/s', { ts: NOW - 1000, hz: 1e-300, values: [1, 2] }).rejection;
    expect([slow?.reason, slow?.message]).toEqual(['future_ts', "the block's last sample at 1e+303 is more than 5000 ms ahead of the gateway clock"]);
  });

  it('says when a timestamp looks like epoch seconds', () => {
    const outcome = harness().json('sensors/m/s', { ts: Math.floor(NOW / 1000), value: 1 });
    expect(outcome.rejection?.message).toMatch(/epoch seconds/);
  });

  it('keeps the good samples of a block and counts each bad one', () => {
    const h = harness();
    const outcome = h.json('sensors/m/s', { ts: NOW - 1000, hz: 10, values: [1, null, 3, 'x', 1e70, 1.0001e70] });
    expect(outcome).toMatchObject({ accepted: 3, rejected: 3 });
    expect(h.points.map((p) => [p[2], p[3]])).toEqual([
      [NOW - 1000, 1],
      [NOW - 800, 3],
      [NOW - 600, 1e70],
    ]);
    expect(h.rejected).toEqual({ not_finite: 3 });
  });

  it('rejects a whole block whose last sample lies in the future', () => {
    const h = harness();
    // 10 s of samples at 1 Hz starting now: the end is 9 s ahead, beyond the 5 s skew.
    const outcome = h.json('sensors/m/s', { ts: NOW, hz: 1, values: Array.from({ length: 10 }, () => 1) });
    expect(outcome.rejection?.reason).toBe('future_ts');
    expect(h.rejected).toEqual({ future_ts: 10 });
    expect(h.points).toEqual([]);
  });
});

describe('the readings count', () => {
  it('counts only readings the window engine took into a window, not late or too-late ones', () => {
    // The engine has closed every window before NOW - 2 s: older readings are late.
    const h = harness((ts) => (ts < NOW - 3_000 ? 'too_late' : ts < NOW - 2_000 ? 'late' : 'accepted'));
    expect(h.json('sensors/m/s', { ts: NOW - 1_000, value: 1 })).toEqual({ accepted: 1, rejected: 0 });
    expect(h.json('sensors/m/s', { ts: NOW - 2_500, value: 1 })).toEqual({ accepted: 1, rejected: 0 });
    expect(h.accepted()).toBe(1);
    // A block from NOW - 4 s at 1 Hz: one too late, one late, three into windows.
    h.json('sensors/m/s', { ts: NOW - 4_000, hz: 1, values: [1, 2, 3, 4, 5] });
    expect(h.accepted()).toBe(4);
    // A samples list: one late, one into a window.
    h.json('sensors/m/s', { samples: [{ ts: NOW - 2_500, value: 1 }, { ts: NOW - 500, value: 2 }] });
    expect(h.accepted()).toBe(5);
    expect(h.rejected).toEqual({});
  });
});

describe('the caps on machine and sensor ids', () => {
  it('refuses every reading of a machine beyond maxMachines, and keeps taking those of machines it holds', () => {
    const h = harness(undefined, { maxMachines: 2 });
    h.json('sensors/m1/s', { ts: NOW, value: 1 });
    h.json('sensors/m2/s', { ts: NOW, value: 2 });
    const refused = h.json('sensors/m3/s', { ts: NOW - 1000, hz: 10, values: [1, 2, 3] });
    expect(refused).toMatchObject({ accepted: 0, rejected: 3, rejection: { reason: 'too_many_machines' } });
    expect(refused.rejection?.message).toMatch(/m3 .* 2 machines .*validation\.maxMachines/);
    expect(h.json('sensors/m1/other', { ts: NOW, value: 4 })).toEqual({ accepted: 1, rejected: 0 });
    expect(h.points.map((p) => p[0])).toEqual(['m1', 'm2', 'm1']);
    expect(h.rejected).toEqual({ too_many_machines: 3 });
  });

  it('refuses a sensor beyond maxSensorsPerMachine on its machine only', () => {
    const h = harness(undefined, { maxSensorsPerMachine: 2 });
    h.json('sensors/m1/a', { ts: NOW, value: 1 });
    h.json('sensors/m1/b', { ts: NOW, value: 2 });
    expect(h.json('sensors/m1/c', { samples: [{ ts: NOW, value: 3 }, { ts: NOW, value: 4 }] }).rejection?.reason).toBe('too_many_sensors');
    expect(h.json('sensors/m1/a', { ts: NOW, value: 5 })).toEqual({ accepted: 1, rejected: 0 });
    expect(h.json('sensors/m2/c', { ts: NOW, value: 6 })).toEqual({ accepted: 1, rejected: 0 });
    expect(h.points.map((p) => `${p[0]}/${p[1]}`)).toEqual(['m1/a', 'm1/b', 'm1/a', 'm2/c']);
    expect(h.rejected).toEqual({ too_many_sensors: 2 });
  });

  it('caps the machines each publisher creates, anonymous clients counted as one, and frees a place when the engine forgets one', () => {
    const h = harness(undefined, { maxMachinesPerUser: 2 });
    const send = (machine: string, publisher?: string) => h.ingest.handle(`sensors/${machine}/s`, Buffer.from(JSON.stringify({ ts: NOW, value: 1 })), publisher);
    expect(send('a1', 'alice').accepted).toBe(1);
    expect(send('a2', 'alice').accepted).toBe(1);
    const refused = send('a3', 'alice');
    expect(refused.rejection?.reason).toBe('too_many_machines');
    expect(refused.rejection?.message).toMatch(/a3 .*user alice created 2 machines .*validation\.maxMachinesPerUser/);
    // Alice may still write to the machines she holds, and to bob's; bob has places of his own.
    expect(send('a1', 'alice').accepted).toBe(1);
    expect(send('b1', 'bob').accepted).toBe(1);
    expect(send('b1', 'alice').accepted).toBe(1);
    expect(send('n1').accepted).toBe(1);
    expect(send('n2').accepted).toBe(1);
    expect(send('n3').rejection?.message).toMatch(/anonymous clients created 2 machines/);
    // Evicted, a1 frees alice a place; bob then recreates a2's state, and it counts as his.
    h.forget('a1');
    h.forget('a2');
    expect(send('a2', 'bob').accepted).toBe(1);
    expect(send('a3', 'alice').accepted).toBe(1);
    expect(send('a4', 'alice').accepted).toBe(1);
    expect(send('a5', 'alice').rejection?.reason).toBe('too_many_machines');
    expect(send('b2', 'bob').rejection?.reason).toBe('too_many_machines');
    expect(h.rejected).toEqual({ too_many_machines: 4 });
  });

  it('caps the machines of a mapped publisher given as null (a bridge upstream) only at maxMachines', () => {
    const h = harness(undefined, { maxMachines: 3, maxMachinesPerUser: 1 });
    const send = (machine: string) =>
      h.ingest.handleMapped(`plant/${machine}/s`, Buffer.from('1'), { machineId: machine, sensorId: 's' }, () => ({ kind: 'single', ts: NOW, value: 1 }), null);
    expect([send('m1'), send('m2'), send('m3')].map((o) => o.accepted)).toEqual([1, 1, 1]);
    expect(send('m4').rejection?.message).toMatch(/m4 .*holds 3 machines .*validation\.maxMachines\)/);
    // Its machines are nobody's: a user still has its own place.
    h.forget('m3');
    expect(h.ingest.handle('sensors/a1/s', Buffer.from(JSON.stringify({ ts: NOW, value: 1 })), 'alice').accepted).toBe(1);
    expect(h.rejected).toEqual({ too_many_machines: 1 });
  });

  it("adds a held sensor's single readings through the engine's handle, and meets the caps again once the engine forgot the sensor", () => {
    const h = harness(undefined, { maxMachines: 1 });
    h.json('sensors/m1/s', { ts: NOW, value: 1 });
    h.json('sensors/m1/s', { ts: NOW, value: 2 });
    h.json('sensors/m1/s', { ts: NOW, value: 3 });
    // The first reading created the sensor, by its ids; the next two went through its handle.
    expect(h.addedByHandle()).toBe(2);
    h.forget('m1');
    expect(h.json('sensors/m2/s', { ts: NOW, value: 4 })).toEqual({ accepted: 1, rejected: 0 });
    // m1's handle is stale: m1 is new again, and the gateway holds its one machine (m2).
    expect(h.json('sensors/m1/s', { ts: NOW, value: 5 }).rejection?.reason).toBe('too_many_machines');
    expect(h.points.map((p) => `${p[0]}/${p[1]}=${p[3]}`)).toEqual(['m1/s=1', 'm1/s=2', 'm1/s=3', 'm2/s=4']);
    expect(h.rejected).toEqual({ too_many_machines: 1 });
  });

  it('gives a freed place to a new machine once the engine forgets one', () => {
    const h = harness(undefined, { maxMachines: 1 });
    h.json('sensors/m1/s', { ts: NOW, value: 1 });
    expect(h.json('sensors/m2/s', { ts: NOW, value: 2 }).rejection?.reason).toBe('too_many_machines');
    h.forget('m1');
    expect(h.json('sensors/m2/s', { ts: NOW, value: 3 })).toEqual({ accepted: 1, rejected: 0 });
  });
});

describe('ingest of protobuf payloads', () => {
  it('accepts a SensorBatch block on a /pb topic', () => {
    const h = harness();
    const batch = create(SensorBatchSchema, { body: { case: 'block', value: { startTs: BigInt(NOW - 1000), hz: 2, values: [1, 2] } } });
    const outcome = h.ingest.handle('sensors/pump-1/vib/pb', Buffer.from(toBinary(SensorBatchSchema, batch)));
    expect(outcome).toEqual({ accepted: 2, rejected: 0 });
    expect(h.points).toEqual([
      ['pump-1', 'vib', NOW - 1000, 1],
      ['pump-1', 'vib', NOW - 500, 2],
    ]);
  });

  it('accepts timestamped readings, zero meaning gateway time', () => {
    const h = harness();
    const batch = create(SensorBatchSchema, {
      body: { case: 'readings', value: { readings: [{ ts: BigInt(NOW - 10), value: 5 }, { ts: 0n, value: 6 }] } },
    });
    h.ingest.handle('sensors/m/s/pb', Buffer.from(toBinary(SensorBatchSchema, batch)));
    expect(h.points.map((p) => p[2])).toEqual([NOW - 10, NOW]);
  });

  it('rejects bytes that are not a SensorBatch, and an empty batch', () => {
    const h = harness();
    expect(h.ingest.handle('sensors/m/s/pb', Buffer.from([0x0a, 0x7f, 0x01])).rejection?.reason).toBe('bad_protobuf');
    expect(h.ingest.handle('sensors/m/s/pb', Buffer.alloc(0)).rejection?.reason).toBe('bad_protobuf');
    expect(h.points).toEqual([]);
  });
});

describe('ingest of messages mapped elsewhere (the bridge)', () => {
  const single = (ts: number | undefined, value: unknown) => () => ({ kind: 'single' as const, ts, value });

  it('takes the mapped reading through the same checks and counters as a message to handle', () => {
    const { ingest, points, rejected, accepted } = harness();
    const ids = { machineId: 'press-3', sensorId: 'temp' };
    expect(ingest.handleMapped('plant/l1/press-3/temp', Buffer.from('x'), ids, single(NOW - 1_000, 21.5))).toMatchObject({ accepted: 1, rejected: 0 });
    expect(points).toEqual([['press-3', 'temp', NOW - 1_000, 21.5]]);
    expect(accepted()).toBe(1);
    expect(ingest.handleMapped('plant/l1/press-3/temp', Buffer.from('x'), ids, single(NOW + 60_000, 1)).rejection?.reason).toBe('future_ts');
    expect(ingest.handleMapped('plant/l1/press 3/temp', Buffer.from('x'), { ...ids, machineId: 'press 3' }, single(undefined, 1)).rejection?.message).toBe(
      'machineId "press 3" in topic "plant/l1/press 3/temp" must match [A-Za-z0-9_.-]{1,64}',
    );
    expect(rejected).toEqual({ future_ts: 1, bad_topic: 1 });
  });

  it('refuses a payload over the limit before the mapping reads it, and counts what the mapping refuses', () => {
    const { ingest, points, rejected } = harness();
    const ids = { machineId: 'press-3', sensorId: 'temp' };
    let decoded = 0;
    const outcome = ingest.handleMapped('t', Buffer.alloc(limits.maxPayloadBytes + 1), ids, () => {
      decoded++;
      return { kind: 'single', ts: undefined, value: 1 };
    });
    expect(outcome.rejection?.reason).toBe('too_large');
    expect(decoded).toBe(0);
    const refused = ingest.handleMapped('t', Buffer.from('x'), ids, () => {
      throw new IngestRejection('bad_ts', 'ts "soon" is not ISO-8601');
    });
    expect(refused).toMatchObject({ accepted: 0, rejected: 1 });
    expect(points).toEqual([]);
    expect(rejected).toEqual({ too_large: 1, bad_ts: 1 });
  });
});
