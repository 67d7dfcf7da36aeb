// Baseline for the gateway benchmark: a bare aedes broker that only counts PUBLISH packets, run as
// its own process like the gateway. Usage: node dist/bench/bare-broker.js PORT (needs an IPC channel).
import { createServer } from 'node:net';
import { Aedes } from 'aedes';

const port = Number(process.argv[2] ?? 0);
let received = 0;
const broker = await Aedes.createBroker({
  authorizePublish: (_client, _packet, callback) => {
    received++;
    callback(null);
  },
});
const server = createServer((socket) => broker.handle(socket));
server.listen(port, '127.0.0.1', () => process.send?.({ ready: true }));
// Never outlive the benchmark that started it.
process.on('disconnect', () => process.exit(0));
process.on('message', (message: { count?: boolean; stop?: boolean }) => {
  if (message.count) process.send?.({ count: received });
  if (message.stop) broker.close(() => server.close(() => process.exit(0)));
});
