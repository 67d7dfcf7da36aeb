import { Agent, request } from 'node:http';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { startOpsServer } from './http.js';

/** GET `path` over `agent`; the status and body. */
function get(port: number, path: string, agent: Agent): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path, agent }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    })
      .on('error', reject)
      .end();
  });
}

describe('the operations server', () => {
  it('answers /readyz with a check that throws as not ready, saying why, and goes on serving', async () => {
    const ops = await startOpsServer({ host: '127.0.0.1', port: 0 }, new Registry(), {
      outbox: () => {
        throw new Error('The database connection is not open');
      },
      broker: () => ({ ok: true, detail: 'listening' }),
    });
    const agent = new Agent();
    try {
      const first = await get(ops.port, '/readyz', agent);
      expect(first.status).toBe(503);
      expect(JSON.parse(first.body)).toEqual({
        ready: false,
        checks: { outbox: { ok: false, detail: 'check failed: The database connection is not open' }, broker: { ok: true, detail: 'listening' } },
      });
      expect((await get(ops.port, '/healthz', agent)).status).toBe(200);
    } finally {
      agent.destroy();
      await ops.close();
    }
  });
});
