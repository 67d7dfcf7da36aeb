// Child process of the rate bench: a bare aedes broker plus an mqtt.js subscriber that counts what
// it receives, so the simulator's process is measured alone. Talks to the parent over IPC:
// sends {port} when ready, answers 'report' with the counts, exits on 'stop'.
import { type AddressInfo, createServer } from 'node:net';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';

const broker = await Aedes.createBroker();
const server = createServer(broker.handle);
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const port = (server.address() as AddressInfo).port;
const subscriber = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: 'bench-counter' });
let messages = 0;
let bytes = 0;
subscriber.on('message', (_topic, payload) => {
  messages++;
  bytes += payload.length;
});
await subscriber.subscribeAsync('sensors/#', { qos: 0 });

process.on('message', (command) => {
  if (command === 'report') process.send?.({ messages, bytes });
  if (command === 'stop') {
    void subscriber.endAsync().then(() => {
      broker.close(() => server.close(() => process.exit(0)));
    });
  }
});
process.send?.({ port });
