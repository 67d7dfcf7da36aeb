// Admin HTTP on its own port: GET /stats (per-topic and per-subscription counters, RPC errors) and
// GET /healthz. Separate from gRPC so a probe or a dashboard never competes with the Pub/Sub API.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface AdminServer {
  port: number;
  close(): Promise<void>;
}

export async function startAdminServer(host: string, port: number, stats: () => unknown): Promise<AdminServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const reply = (code: number, body: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'GET') return reply(405, { error: `method ${req.method} not allowed; use GET` });
    if (path === '/healthz') return reply(200, { status: 'ok' });
    if (path === '/stats') return reply(200, stats());
    return reply(404, { error: `no such path ${path}; try /stats or /healthz` });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
