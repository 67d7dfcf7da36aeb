// A tiny HTTP server standing in for InfluxDB, for the answers the tests' influxd does not give: those
// of an InfluxDB with authentication on, or of a proxy in front of it (401, 403, 413, 429, 5xx), or none.
import { once } from 'node:events';
import http from 'node:http';
import type net from 'node:net';

export interface StandInInflux {
  url: string;
  close(): Promise<void>;
}

export async function standInInflux(handler: http.RequestListener): Promise<StandInInflux> {
  const server = http.createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => (server.closeAllConnections(), new Promise((resolve) => server.close(() => resolve()))) };
}

/** Answers every request with the status its `db` parameter names (`db=401`), and `body`. */
export function answerByDatabase(body: (status: number) => string): http.RequestListener {
  return (req, res) => {
    const status = Number(new URL(req.url ?? '/', 'http://stand-in').searchParams.get('db'));
    req.resume().on('end', () => res.writeHead(status).end(body(status)));
  };
}
