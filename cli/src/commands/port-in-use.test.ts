import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../command.js';
import { explainPortInUse } from './port-in-use.js';

/** The error Node gives when a port is taken: a real listen on a port that is in use. */
async function listenError(port: number): Promise<unknown> {
  const second = createServer();
  return new Promise((resolve) => {
    second.once('error', resolve);
    second.listen(port, '127.0.0.1');
  });
}

describe('a taken port at start-up', () => {
  it('is told as the flag that moves it', async () => {
    const taken = createServer();
    const port = await new Promise<number>((resolve) => taken.listen(0, '127.0.0.1', () => resolve((taken.address() as { port: number }).port)));
    try {
      const explained = explainPortInUse(await listenError(port), { 'influx-port': 8086, 'mqtt-port': port });
      expect(explained).toBeInstanceOf(UsageError);
      expect((explained as Error).message).toMatch(new RegExp(`port ${port} is already in use.*--mqtt-port PORT, or --mqtt-port 0`));
    } finally {
      taken.close();
    }
  });

  it('leaves other errors, and taken ports that are not ours, as they are', () => {
    const other = new Error('boom');
    expect(explainPortInUse(other, { 'mqtt-port': 1883 })).toBe(other);
    const foreign = Object.assign(new Error('listen EADDRINUSE'), { code: 'EADDRINUSE', port: 4242 });
    expect(explainPortInUse(foreign, { 'mqtt-port': 1883 })).toBe(foreign);
  });
});
