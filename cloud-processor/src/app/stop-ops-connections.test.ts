// The processor's stop does not wait for a client of its ops HTTP server that sent half a request:
// Node would keep that connection for its request timeout (5 minutes), past any supervisor's stop timeout.
import { once } from 'node:events';
import { createConnection } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { useProcessorTestbeds } from '../test-support/processor-testbed.js';

describe('stopping a processor', () => {
  const testbed = useProcessorTestbeds();

  it('cuts an ops connection whose request is half-sent instead of waiting for it', async () => {
    const t = await testbed();
    const processor = await t.start({ http: { host: '127.0.0.1', port: 0 } });
    const socket = createConnection({ host: '127.0.0.1', port: processor.httpPort });
    await once(socket, 'connect');
    socket.on('error', () => undefined); // a cut connection may end in a reset
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.write('GET /healthz HTTP/1.1\r\nHost: processor\r\n');
    try {
      const stopped = processor.stop();
      // Far below the 5 minutes the half-sent request would otherwise hold it.
      expect(await Promise.race([stopped.then(() => 'stopped'), sleep(15_000, 'still stopping', { ref: false })])).toBe('stopped');
      await closed;
    } finally {
      socket.destroy();
    }
  }, 30_000);
});
