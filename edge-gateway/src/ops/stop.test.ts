// Closing the operations server while a client holds a request open: a request completed within the
// grace is answered, and a connection still half-way through its request is cut after it, so the
// gateway's stop does not wait for Node's request timeout (5 minutes).
import { once } from 'node:events';
import { createConnection } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { startOpsServer } from './http.js';

/** A raw connection to the server; `ended` resolves with everything it received once it is closed. */
async function connection(port: number) {
  const socket = createConnection({ host: '127.0.0.1', port });
  await once(socket, 'connect');
  let received = '';
  socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
  // A connection the server cuts may end in a reset: that is the close the test waits for, not a failure.
  socket.on('error', () => undefined);
  const ended = new Promise<string>((resolve) => socket.on('close', () => resolve(received)));
  return { socket, ended };
}

describe('stopping the operations server', () => {
  it('answers a request completed within the grace, and then cuts a connection whose request is half-sent', async () => {
    const ops = await startOpsServer({ host: '127.0.0.1', port: 0, closeGraceMs: 2_000 }, new Registry(), {});
    const half = await connection(ops.port);
    const finishing = await connection(ops.port);
    half.socket.write('GET /healthz HTTP/1.1\r\nHost: gateway\r\n');
    finishing.socket.write('GET /healthz HTTP/1.1\r\nHost: gateway\r\n');
    try {
      const closed = ops.close();
      finishing.socket.write('\r\n');
      // Far below the 5 minutes the half-sent request would otherwise hold it, far above the grace.
      expect(await Promise.race([closed.then(() => 'closed'), sleep(10_000, 'still open', { ref: false })])).toBe('closed');
      const answer = await finishing.ended;
      expect(answer).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
      expect(answer).toContain('{"status":"ok"}');
      expect(await half.ended).toBe('');
    } finally {
      half.socket.destroy();
      finishing.socket.destroy();
    }
  });
});
