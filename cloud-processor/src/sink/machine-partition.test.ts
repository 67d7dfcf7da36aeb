import { describe, expect, it } from 'vitest';
import { partitionByMachine } from './machine-partition.js';

const line = (text: string): Buffer => Buffer.from(`${text}\n`);
const text = (bytes: Buffer) => bytes.toString().trimEnd();
// Read with regular expressions, independently of the partition's byte scan: the series key is
// everything before the first space no backslash escapes; the machine is its `machine` tag's value.
const seriesOf = (bytes: Buffer) => /^((?:\\.|[^ \\])*) /.exec(text(bytes))![1]!;
const machineOf = (bytes: Buffer) => /,machine=((?:\\.|[^, \\])*)/.exec(seriesOf(bytes))?.[1];

/** The group each key (a line's machine, or its series without one) was found in; fails on a key found in two groups. */
function groupOfKeys(groups: Buffer[][]): Map<string, number> {
  const groupOf = new Map<string, number>();
  groups.forEach((group, index) => {
    for (const member of group) {
      const key = machineOf(member) ?? `series ${seriesOf(member)}`;
      expect(groupOf.get(key) ?? index, key).toBe(index);
      groupOf.set(key, index);
    }
  });
  return groupOf;
}

describe('partitionByMachine', () => {
  // Two windows of 300 machines, as the sink writes them: a point per sensor, the anomaly point and the
  // alert state (a window's decision), some machine names with escaped spaces, commas and equals signs;
  // and points without a machine: the processor's pipeline report, twice per instance.
  const lines = [0, 1].flatMap((window) => [
    ...Array.from({ length: 300 }, (_, i) => {
      const machine = i % 7 === 0 ? `press\\ ${i}\\,hall\\=b` : `pump-${i}`;
      const time = 1_700_000_000_000 + window * 10_000;
      return [
        ...['bearing_temp', 'flow'].map((sensor) => line(`sensor_features,gateway=gw-1,machine=${machine},sensor=${sensor},site=plant-1 mean=${i},rms=${window} ${time}`)),
        line(`anomaly,machine=${machine},model=pump,site=plant-1 score=0.${i},threshold=1,is_anomaly=false,model_version="3" ${time}`),
        line(`alert_state,machine=${machine},site=plant-1 state="normal",window_start=${time} ${time}`),
      ];
    }).flat(),
    ...Array.from({ length: 12 }, (_, i) => line(`pipeline,component=cloud-processor,instance=proc-${i} windows=${window} 1700000000000`)),
  ]);

  it('puts each machine (or, without one, each series) in one group, keeps each group in the batch order and loses no line', () => {
    const groups = partitionByMachine(lines, 2);
    expect(groups).toHaveLength(2);
    expect(groupOfKeys(groups).size).toBe(300 + 12);
    for (const group of groups) {
      // In the batch's order: positions in the input only increase.
      const positions = group.map((member) => lines.indexOf(member));
      expect(positions).toEqual([...positions].sort((a, b) => a - b));
    }
    expect(groups.flat().map(text).sort()).toEqual(lines.map(text).sort());
  });

  it('splits many machines about evenly, so every request carries a share of the burst', () => {
    for (const count of [2, 3]) {
      const sizes = partitionByMachine(lines, count).map((group) => group.length);
      expect(sizes).toHaveLength(count);
      for (const size of sizes) expect(size).toBeGreaterThan((lines.length / count) * 0.7);
    }
  });

  it('reads a machine name past its escaped characters: `a\\ 1` and `a\\ 2` are two machines', () => {
    const escaped = Array.from({ length: 64 }, (_, i) => line(`anomaly,machine=a\\ ${i},site=s score=1 1`));
    expect(partitionByMachine(escaped, 4).length).toBeGreaterThan(1);
  });

  it('takes the machine from the tags only: a field that says `,machine=` leaves its series in one group', () => {
    const messages = Array.from({ length: 64 }, (_, i) => line(`alerts,site=plant-1 message="stopped,machine=m-${i}" ${i}`));
    expect(partitionByMachine(messages, 4)).toEqual([messages]);
  });

  it('leaves one group in the batch order for one request, and no empty groups for few lines', () => {
    expect(partitionByMachine(lines, 1)).toEqual([lines]);
    const one = [line('alert_deliveries,machine=pump-1,site=plant-1 pending="webhook" 1'), line('alert_deliveries,machine=pump-1,site=plant-1 pending="" 1')];
    expect(partitionByMachine(one, 4)).toEqual([one]);
  });
});
