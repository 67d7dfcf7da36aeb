// The operations endpoint: /healthz (the process is alive), /readyz (broker listening, outbox
// writable, publisher connected or buffering) and /metrics (Prometheus text format).
import { type Server, createServer } from 'node:http';
import { listen } from './listen.js';
import type { Registry } from 'prom-client';

export type ReadinessCheck = () => { ok: boolean; detail: string };

/** A check's answer; one that throws is not ready, saying why, instead of an uncaught exception in the request handler. */
function answerOf(check: ReadinessCheck): { ok: boolean; detail: string } {
  try {
    return check();
  } catch (error) {
    return { ok: false, detail: `check failed: ${(error as Error).message}` };
  }
}

export interface OpsServer {
  port: number;
  close(): Promise<void>;
}

/** How long close() lets the requests under way be answered (each takes milliseconds) before it cuts their connections. */
const CLOSE_GRACE_MS = 1_000;

export async function startOpsServer(
  options: { host: string; port: number; closeGraceMs?: number },
  registry: Registry,
  checks: Record<string, ReadinessCheck>,
): Promise<OpsServer> {
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (path === '/healthz') {
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      return;
    }
    if (path === '/readyz') {
      const results = Object.fromEntries(Object.entries(checks).map(([name, check]) => [name, answerOf(check)]));
      const ready = Object.values(results).every((r) => r.ok);
      response.writeHead(ready ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ ready, checks: results }));
      return;
    }
    if (path === '/metrics') {
      registry.metrics().then(
        (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (error: unknown) => response.writeHead(500).end(String(error)),
      );
      return;
    }
    response.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /healthz, /readyz or /metrics\n');
  });
  const port = await listen(server, options.port, options.host, 'http.port');
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        // close() stops listening and (Node 20) ends idle keep-alive connections, but waits for any other:
        // a client that sent half a request, or none yet, would hold the gateway's stop for Node's
        // request timeout (5 minutes), past a supervisor's stop timeout. Those are cut after the grace.
        const cut = setTimeout(() => server.closeAllConnections(), options.closeGraceMs ?? CLOSE_GRACE_MS);
        server.close(() => {
          clearTimeout(cut);
          resolve();
        });
      }),
  };
}
