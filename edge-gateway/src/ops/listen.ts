// Opening a listener, for every listener of the gateway (MQTT, TLS, WebSocket, operations).
import type { Server as HttpServer } from 'node:http';
import type { AddressInfo, Server as NetServer } from 'node:net';

/**
 * Listens on host:port and resolves with the port it got (0: one the system picked). A port another
 * program holds is told as the config key that moves it — not a bare EADDRINUSE — with the code and
 * port kept for callers that test them (pdm start names its own flag instead).
 */
export async function listen(server: NetServer | HttpServer, port: number, host: string, key: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    const failed = (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EADDRINUSE') return reject(error);
      reject(Object.assign(new Error(`${key}: port ${port} on ${host} is already in use by another program: change ${key}, or stop that program`), { code: error.code, port }));
    };
    server.once('error', failed);
    server.listen(port, host, () => {
      server.off('error', failed);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}
