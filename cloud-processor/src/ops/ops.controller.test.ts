import { status } from '@grpc/grpc-js';
import { schemaAttribute, MachineWindowSchema } from '@pdm/proto';
import { until } from '@pdm/pubsub-emulator/testing';
import { describe, expect, it } from 'vitest';
import { useProcessorTestbeds } from '../test-support/processor-testbed.js';
import { ScriptedScorer } from '../test-support/scripted-scorer.js';
import { makeWindow } from '../test-support/windows.js';

interface Health {
  status: string;
  info?: Record<string, { status: string; message?: string }>;
  error?: Record<string, { status: string; message?: string }>;
}

async function probe(httpPort: number, path: 'healthz' | 'readyz'): Promise<{ code: number; body: Health }> {
  const response = await fetch(`http://127.0.0.1:${httpPort}/${path}`);
  return { code: response.status, body: (await response.json()) as Health };
}

describe('ops endpoints', () => {
  const startTestbed = useProcessorTestbeds();

  it('fails /healthz and /readyz, naming the subscription, once the Pub/Sub client stopped pulling for good', async () => {
    const t = await startTestbed();
    const processor = await t.start({}, { scorer: new ScriptedScorer() });
    await t.bed.publishWindow(makeWindow());
    await until(() => t.bed.stats().acked === 1, 'a window stored: the processor pulls');
    expect((await probe(processor.httpPort, 'healthz')).code).toBe(200);
    // NOT_FOUND: the subscription was deleted. The client does not retry it and never pulls again.
    t.bed.t.emulator.dropStreams(status.NOT_FOUND, 'Resource not found');
    const why = `stopped pulling from Pub/Sub subscription "projects/pdm-test/subscriptions/${t.bed.subscription}" for good: Resource not found (gRPC code 5)`;
    await expect.poll(() => probe(processor.httpPort, 'healthz'), { timeout: 5_000 }).toEqual({ code: 503, body: expect.objectContaining({ status: 'error', error: { pubsub: { status: 'down', message: why } } }) as unknown });
    const ready = await probe(processor.httpPort, 'readyz');
    expect(ready.code).toBe(503);
    expect(ready.body.error).toEqual({ pubsub: { status: 'down', message: why, responseTime: expect.any(Number) as unknown } });
    expect((await processor.failed).message).toBe(why);
  });

  it('reports InfluxDB not ready, naming the database, when it answers /ping but the database is gone', async () => {
    const t = await startTestbed();
    const processor = await t.start({}, { scorer: new ScriptedScorer() });
    expect(await probe(processor.httpPort, 'readyz')).toMatchObject({ code: 200, body: { info: { influxdb: { status: 'up' } } } });
    await t.rows(`DROP DATABASE "${t.database}"`);
    const ready = await probe(processor.httpPort, 'readyz');
    expect(ready.code).toBe(503);
    expect(ready.body.error?.['influxdb']).toMatchObject({ status: 'down', message: `cannot query ${t.database}: InfluxDB query failed: database not found: ${t.database}` });
    expect(ready.body.info).toMatchObject({ pubsub: { status: 'up' }, model: { status: 'up' } });
  });

  it('labels pdm_processor_messages_total with the schemas the processor handles, any other schema attribute as `other`', async () => {
    const t = await startTestbed();
    const processor = await t.start({}, { scorer: new ScriptedScorer() });
    await t.bed.publishWindow(makeWindow());
    // A foreign publisher's values: a versioned name, a timestamp, a schema nobody handles, none at all.
    for (const schema of [`${schemaAttribute(MachineWindowSchema)};v=2024-05-01`, '1717171717123', 'pdm.v9.Mystery']) await t.bed.publishRaw(Buffer.from('x'), { schema });
    await t.bed.publishRaw(Buffer.from('x'), { gateway: 'gw-1' });
    await until(() => t.bed.stats().acked === 5, 'the window stored, the others dead-lettered');
    const metrics = await (await fetch(`http://127.0.0.1:${processor.httpPort}/metrics`)).text();
    expect(metrics.split('\n').filter((line) => line.startsWith('pdm_processor_messages_total{')).sort()).toEqual([
      'pdm_processor_messages_total{outcome="acked",schema="pdm.v1.MachineWindow"} 1',
      'pdm_processor_messages_total{outcome="dead_lettered",schema="other"} 4',
    ]);
  });
});
