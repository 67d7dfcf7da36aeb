// Refused connections and publishes are counted every time but logged at most once per reason every
// 10 s of the gateway clock, with the number of lines held back: a device retrying a wrong password
// in a loop must not flood the log.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTestDataDir } from '@pdm/influx-harness';
import { connectAsync } from 'mqtt';
import { pino } from 'pino';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { gatewayConfigSchema } from './config/index.js';
import { type RunningGateway, startGateway } from './gateway.js';
import { hashPassword } from './mqtt/index.js';
import { type GatewayTestbed, metricValue, startGatewayTestbed } from './test-support/gateway-harness.js';

interface LogLine {
  msg: string;
  reason?: string;
  topic?: string;
  suppressed?: number;
}

describe('refusals in the gateway log', () => {
  const dir = makeTestDataDir('refusal-logs');
  let bed: GatewayTestbed | undefined;
  let gateway: RunningGateway | undefined;
  afterEach(async () => {
    await gateway?.stop();
    await bed?.close();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('logs one line per reason every 10 s on the gateway clock, saying how many it held back, and counts every refusal', async () => {
    const usersFile = join(dir, 'users.yaml');
    const hash = await hashPassword('right-password', { N: 1024, r: 8, p: 1 });
    writeFileSync(usersFile, ['users:', '  - username: plc-1', `    passwordHash: "${hash}"`, '    publish: ["sensors/press-1/#"]'].join('\n'));
    bed = await startGatewayTestbed({ mqtt: { allowAnonymous: false, usersFile } });
    // The testbed's gateway logs nowhere: this one, on the same clock and Pub/Sub, logs into `lines`.
    await bed.gateway.stop();
    const lines: LogLine[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(JSON.parse(line) as LogLine) });
    gateway = await startGateway(gatewayConfigSchema.parse(bed.config()), { clock: bed.clock, logger });
    const url = `mqtt://127.0.0.1:${gateway.mqttPort}`;

    async function refusals(): Promise<void> {
      await expect(connectAsync(url, { username: 'plc-1', password: 'wrong', reconnectPeriod: 0 })).rejects.toThrow(/Bad username or password/i);
      await expect(connectAsync(url, { reconnectPeriod: 0 })).rejects.toThrow(/Not authorized/i);
      const client = await connectAsync(url, { username: 'plc-1', password: 'right-password', reconnectPeriod: 0 });
      const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
      client.publish('sensors/press-2/temp', JSON.stringify({ value: 1 }), { qos: 1 }); // outside its ACL: disconnected
      await closed;
      client.end(true);
    }
    const refusalLines = () =>
      lines
        .filter((line) => line.msg === 'connection refused' || line.msg.startsWith('publish refused'))
        .map(({ msg, reason, topic, suppressed }) => ({ msg, reason, topic, suppressed }));

    for (let i = 0; i < 3; i++) await refusals();
    const first = [
      { msg: 'connection refused', reason: 'bad_credentials', topic: undefined, suppressed: 0 },
      { msg: 'connection refused', reason: 'anonymous', topic: undefined, suppressed: 0 },
      { msg: 'publish refused by ACL; client disconnected', reason: undefined, topic: 'sensors/press-2/temp', suppressed: 0 },
    ];
    expect(refusalLines()).toEqual(first);

    bed.clock.advance(9_999);
    await refusals();
    expect(refusalLines()).toEqual(first);

    bed.clock.advance(1);
    await refusals();
    expect(refusalLines()).toEqual([...first, ...first.map((line) => ({ ...line, suppressed: 3 }))]);

    expect(await metricValue(gateway, 'pdm_gateway_connect_refused_total', 'reason="bad_credentials"')).toBe(5);
    expect(await metricValue(gateway, 'pdm_gateway_connect_refused_total', 'reason="anonymous"')).toBe(5);
    expect(await metricValue(gateway, 'pdm_gateway_rejected_total', 'reason="unauthorized"')).toBe(5);
  });
});
