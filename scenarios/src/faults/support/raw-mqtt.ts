// A bare MQTT 3.1.1 client over a TCP socket, for clients no library would be: one that announces
// a packet bigger than the broker reads and keeps streaming it, one that publishes as fast as the
// socket takes it. Only what those need: CONNECT/CONNACK, PUBLISH at QoS 0, PINGREQ/PINGRESP.
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';

const CONNECT = 0x10;
const CONNACK = 0x20;
const PUBLISH_QOS0 = 0x30;
const PINGREQ = Buffer.from([0xc0, 0x00]);
const PINGRESP = 0xd0;

/** The remaining-length field: 7 bits a byte, high bit set while more follow [MQTT 2.2.3]. */
function remainingLength(n: number): Buffer {
  const bytes: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    bytes.push(byte);
  } while (n > 0);
  return Buffer.from(bytes);
}

const string = (s: string) => {
  const bytes = Buffer.from(s, 'utf8');
  const length = Buffer.alloc(2);
  length.writeUInt16BE(bytes.length);
  return Buffer.concat([length, bytes]);
};

const packet = (type: number, body: Buffer) => Buffer.concat([Buffer.from([type]), remainingLength(body.length), body]);

async function openSocket(port: number): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port });
  socket.on('error', () => {}); // a broker hanging up is what some tests want; they look at `closed`
  await once(socket, 'connect');
  return socket;
}

/** Resolves with the next `bytes` bytes the broker sends (simple: the tests read one reply at a time). */
function read(socket: Socket, bytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let got = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      got = Buffer.concat([got, chunk]);
      if (got.length >= bytes) {
        socket.off('data', onData).off('close', onClose);
        resolve(got);
      }
    };
    const onClose = () => reject(new Error(`the broker closed the connection after ${got.length} of ${bytes} bytes`));
    socket.on('data', onData).once('close', onClose);
  });
}

/** Never rejects: a broker resetting the connection mid-stream is an outcome here, not an error. */
function drainedOrClosed(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      socket.off('drain', done).off('close', done);
      resolve();
    };
    socket.on('drain', done).on('close', done);
  });
}

export interface RawClient {
  publish(topic: string, payload: string): void;
  /** Resolves once the broker answered a PINGREQ: it has read everything sent before it. */
  sync(): Promise<void>;
  close(): void;
}

export interface Credentials {
  clientId: string;
  username: string;
  password: string;
}

/** A socket past CONNECT/CONNACK with these credentials. */
async function authenticated(port: number, c: Credentials): Promise<Socket> {
  const socket = await openSocket(port);
  const flags = 0x80 | 0x40 | 0x02; // username, password, clean session
  const variable = Buffer.concat([string('MQTT'), Buffer.from([4, flags, 0, 60])]);
  socket.write(packet(CONNECT, Buffer.concat([variable, string(c.clientId), string(c.username), string(c.password)])));
  const connack = await read(socket, 4);
  if (connack[0] !== CONNACK || connack[3] !== 0) throw new Error(`CONNECT refused: ${connack.toString('hex')}`);
  return socket;
}

export async function rawConnect(port: number, credentials: Credentials): Promise<RawClient> {
  const socket = await authenticated(port, credentials);
  return {
    publish: (topic, payload) => socket.write(packet(PUBLISH_QOS0, Buffer.concat([string(topic), Buffer.from(payload)]))),
    async sync() {
      const reply = read(socket, 2);
      socket.write(PINGREQ);
      const pingresp = await reply;
      if (pingresp[0] !== PINGRESP) throw new Error(`expected PINGRESP, got ${pingresp.toString('hex')}`);
    },
    close: () => socket.end(),
  };
}

/**
 * Opens a connection (authenticated first when `credentials` are given), announces a packet of
 * `announcedBytes` (a CONNECT, or a PUBLISH after authenticating) and streams junk after its header,
 * up to `streamBytes`, until the broker hangs up. Resolves with how many bytes the socket took and
 * whether the broker closed the connection.
 */
export async function sendOversized(
  port: number,
  o: { announcedBytes: number; streamBytes: number; credentials?: Credentials },
): Promise<{ closedByBroker: boolean; bytesWritten: number }> {
  const socket = o.credentials ? await authenticated(port, o.credentials) : await openSocket(port);
  const type = o.credentials ? PUBLISH_QOS0 : CONNECT;
  let closed = false;
  socket.once('close', () => (closed = true));
  socket.write(Buffer.concat([Buffer.from([type]), remainingLength(o.announcedBytes)]));
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  for (let sent = 0; sent < o.streamBytes && !closed; sent += chunk.length) {
    if (!socket.write(chunk)) await drainedOrClosed(socket);
  }
  const deadline = Date.now() + 10_000;
  while (!closed && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  const bytesWritten = socket.bytesWritten;
  socket.destroy();
  return { closedByBroker: closed, bytesWritten };
}
