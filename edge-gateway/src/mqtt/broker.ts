// The embedded MQTT broker (aedes, MQTT 3.1/3.1.1) on TCP (unless `plain` is off), optional TLS and
// optional WebSocket. Authentication from the users file — by password, or on the TLS listener by a
// client certificate its CA bundle verified, whose subject CN names the user — publish/subscribe ACLs
// for every client (anonymous ones get `anonymous`), a maximum packet size checked on each packet's header before the packet is read,
// and ingest of every PUBLISH before it is acknowledged — once, when a client sends it again (DUP). A client that misbehaves loses only its own connection.
// The users and the TLS certificates can be replaced while it runs (a reload): connected clients keep
// their connection and the user they authenticated as; the next connections meet the new ones.
import type { Clock } from '@pdm/clock';
import { Aedes, type AuthenticateError, type Client } from 'aedes';
import { type IncomingMessage, type Server as HttpServer, createServer as createHttpServer } from 'node:http';
import { type Server as NetServer, type Socket, createServer as createNetServer } from 'node:net';
import { type Server as TlsServer, type TLSSocket, createServer as createTlsServer } from 'node:tls';
import type { Duplex } from 'node:stream';
import { WebSocketServer, createWebSocketStream } from 'ws';
import type { RejectReason } from '../ingest/index.js';
import type { Credentials } from './credentials.js';
import { type OversizedPacket, guardPacketSize } from './packet-size-guard.js';
import { publishMatcher } from './publish-acls.js';
import { RedeliveryFilter } from './redeliveries.js';
import { type Acl, PasswordChecksBusyError, type User, Users } from './users.js';
import { listen } from '../ops/listen.js';

export interface BrokerOptions {
  host: string;
  port: number;
  /** The plain TCP listener on `port`; off: TLS (and WebSocket) only. */
  plain: boolean;
  /**
   * The TLS listener, with its certificate and key in `credentials.tls`; a CA bundle there (ca) makes it
   * accept client certificates (a verified certificate's subject CN is the username). requireClientCert:
   * refuse a TLS client without a certificate the bundle verifies (during the handshake).
   */
  tls?: { port: number; requireClientCert: boolean };
  websocket?: { port: number; path: string };
  allowAnonymous: boolean;
  /** Largest MQTT packet accepted, fixed header included; a bigger one ends its connection unread. */
  maxPacketBytes: number;
  /** What clients without credentials may publish and subscribe, when allowAnonymous. */
  anonymous: Acl;
  /** The users (none: only anonymous clients) and the TLS listener's PEM contents (needed with `tls`). */
  credentials: Credentials;
  /** Client ids whose recent publishes are remembered to recognise a redelivery (mqtt.rememberedClients). */
  redeliveryClients: number;
  /** Times a disconnected client's memory of publishes, forgotten some minutes after it left. */
  clock: Clock;
}

export interface BrokerHooks {
  /** Handles one PUBLISH from a device, with the user it authenticated as (none: anonymous); must not throw. */
  onPublish(topic: string, payload: Buffer, username: string | undefined): void;
  /** A QoS 1/2 PUBLISH its client sent again (DUP) and already ingested: acknowledged, not ingested twice. */
  onRedelivery(clientId: string, topic: string): void;
  /** The memory of redeliveries, full, forgot a client still connected (see RedeliveryFilter). */
  onRedeliveryMemoryFull(): void;
  /** A publish refused before ingest (ACL); counted as a rejection with this reason. */
  onRefusedPublish(reason: RejectReason, clientId: string, topic: string): void;
  /** A subscription refused by the ACL (SUBACK 0x80; the client stays connected). */
  onRefusedSubscribe(clientId: string, filter: string): void;
  /** unknown_certificate: a verified client certificate whose subject CN is no user of the users file. */
  onRefusedConnect(reason: 'bad_credentials' | 'anonymous' | 'unknown_certificate' | 'busy', clientId: string, username: string | undefined): void;
  /**
   * A TLS handshake that failed (no client certificate while one is required, another CA, not TLS at all).
   * Not called for a peer that hung up before the handshake ended: see isHangUp.
   */
  onTlsHandshakeFailed(remoteAddress: string | undefined, error: Error): void;
  /** A packet over maxPacketBytes, refused from its header alone; the connection is closed. */
  onPacketTooLarge(packet: OversizedPacket, remoteAddress: string | undefined): void;
  onClientError(clientId: string, error: Error): void;
}

export interface RunningBroker {
  /** The plain listener's port; undefined when `plain` is off. */
  port: number | undefined;
  tlsPort?: number;
  websocketPort?: number;
  connectedClients(): number;
  /** Delivers a message from the gateway itself to the clients subscribed to `topic` (QoS 0, not retained). */
  publish(topic: string, payload: Buffer): void;
  /**
   * Authenticates the next connections with these users and serves the next TLS handshakes with these
   * certificates; connected clients are left as they are. Throws, having changed nothing, when the
   * TLS layer refuses the certificates.
   */
  replaceCredentials(credentials: Credentials): void;
  /** Stops accepting connections and closes every connection, MQTT client or not. */
  close(): Promise<void>;
}

/** What a connected client may do: its user (none: anonymous) and that user's ACL, its publish filters prepared. */
interface ClientAccess {
  readonly user: User | undefined;
  readonly acl: Acl;
  readonly mayPublish: (topic: string) => boolean;
}

const accessFor = (user: User | undefined, acl: Acl): ClientAccess => ({ user, acl, mayPublish: publishMatcher(acl) });

const SERVER_UNAVAILABLE = 3;
const BAD_USERNAME_OR_PASSWORD = 4;
const NOT_AUTHORIZED = 5;

function authError(message: string, returnCode: number): AuthenticateError {
  const error = new Error(message) as AuthenticateError;
  error.returnCode = returnCode;
  return error;
}

/**
 * The subject CN of the client certificate the TLS handshake verified against the CA bundle; undefined
 * without one (none sent, none requested, or not verified: such a client authenticates by password).
 * A subject with several CNs names no single user and counts as none.
 */
function verifiedCommonName(socket: TLSSocket): string | undefined {
  if (!socket.authorized) return undefined;
  const commonName: unknown = socket.getPeerCertificate().subject?.CN;
  return typeof commonName === 'string' && commonName !== '' ? commonName : undefined;
}

async function closeServer(server: NetServer | HttpServer): Promise<void> {
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/**
 * A TLS handshake the peer ended by closing or resetting its connection with nothing refused: a TCP
 * health check (connect, then close before any TLS byte: a blackbox tcp_connect, an HAProxy or
 * Kubernetes tcpSocket probe) or a client that gave up. Node reports it as a client error ("socket
 * hang up", ECONNRESET), but the gateway refused nothing. Node reports a client certificate it refused
 * after the handshake (TLS 1.3) the same way; that one has an authorizationError and is a refusal.
 */
const isHangUp = (error: Error & { code?: string }, socket: TLSSocket): boolean => error.code === 'ECONNRESET' && !socket.authorizationError;

export async function startBroker(options: BrokerOptions, hooks: BrokerHooks): Promise<RunningBroker> {
  // What each client authenticated as, with its publish ACL prepared: one lookup per PUBLISH.
  const anonymous = accessFor(undefined, options.anonymous);
  const accessOf = new WeakMap<Client, ClientAccess>();
  const authenticated = (client: Client, user: User | undefined) => accessOf.set(client, user ? accessFor(user, user) : anonymous);
  const nameOf = (user: User | undefined): string => (user ? `user ${user.username}` : 'an anonymous client');

  let credentials = options.credentials;
  const redeliveries = new RedeliveryFilter(options.redeliveryClients, options.clock, () => hooks.onRedeliveryMemoryFull());
  // The verified certificate CN of each TLS connection, keyed by the stream aedes sees as client.conn.
  const certificateNameOf = new WeakMap<Duplex, string>();

  const aedes = await Aedes.createBroker({
    // A subscriber that stops reading is disconnected instead of stalling the publishers.
    drainTimeout: 10_000,
    authenticate: (client, username, password, done) => {
      const commonName = certificateNameOf.get(client.conn);
      if (commonName !== undefined) {
        // The certificate is the identity: the CONNECT's username and password are not consulted.
        const user = credentials.users?.withCertificateName(commonName);
        if (!user) {
          hooks.onRefusedConnect('unknown_certificate', client.id, commonName);
          return done(authError(`no user for the certificate of ${commonName}`, NOT_AUTHORIZED), false);
        }
        authenticated(client, user);
        return done(null, true);
      }
      if (username === undefined || username === '') {
        if (options.allowAnonymous) {
          authenticated(client, undefined);
          return done(null, true);
        }
        hooks.onRefusedConnect('anonymous', client.id, undefined);
        return done(authError('anonymous clients are not allowed', NOT_AUTHORIZED), false);
      }
      const users = credentials.users;
      if (!users) {
        hooks.onRefusedConnect('bad_credentials', client.id, username);
        return done(authError('no users are configured', BAD_USERNAME_OR_PASSWORD), false);
      }
      users.authenticate(username, password?.toString('utf8') ?? '').then(
        (user) => {
          if (!user) {
            hooks.onRefusedConnect('bad_credentials', client.id, username);
            return done(authError('bad username or password', BAD_USERNAME_OR_PASSWORD), false);
          }
          authenticated(client, user);
          done(null, true);
        },
        (error: unknown) => {
          if (!(error instanceof PasswordChecksBusyError)) return done(authError(`authentication failed: ${String(error)}`, BAD_USERNAME_OR_PASSWORD), false);
          hooks.onRefusedConnect('busy', client.id, username);
          done(authError(`${error.message}: retry`, SERVER_UNAVAILABLE), false);
        },
      );
    },
    authorizePublish: (client, packet, callback) => {
      // Nothing here is kept as a retained message: aedes would hold one per topic for good, refused
      // ones too (a bad topic, a payload over validation.maxPayloadBytes, a machine over the caps), so
      // any client could fill the gateway's memory past every ingest limit. The gateway is where
      // readings go in, not where subscribers find the last value.
      packet.retain = false;
      if (packet.topic.startsWith('$SYS')) return callback(new Error('$SYS topics are reserved'));
      const access = client ? (accessOf.get(client) ?? anonymous) : undefined;
      if (client && access && !access.mayPublish(packet.topic)) {
        hooks.onRefusedPublish('unauthorized', client.id, packet.topic);
        // MQTT 3.1.1 cannot refuse a PUBLISH; closing the connection is the spec's answer [MQTT-3.3.5-2].
        return callback(new Error(`${nameOf(access.user)} may not publish on ${packet.topic}`));
      }
      if (client && redeliveries.isRedelivery(client.id, packet)) {
        hooks.onRedelivery(client.id, packet.topic);
        return callback(null);
      }
      hooks.onPublish(packet.topic, packet.payload as Buffer, access?.user?.username);
      callback(null);
    },
    authorizeSubscribe: (client, subscription, callback) => {
      if (Users.maySubscribe((accessOf.get(client) ?? anonymous).acl, subscription.topic)) return callback(null, subscription);
      hooks.onRefusedSubscribe(client.id, subscription.topic);
      // A refused subscription gets SUBACK 0x80 and the client stays connected.
      callback(null, null);
    },
  });
  aedes.on('client', (client) => redeliveries.connected(client.id));
  aedes.on('clientDisconnect', (client) => redeliveries.disconnected(client.id));
  aedes.on('clientError', (client, error) => hooks.onClientError(client.id, error));
  aedes.on('connectionError', (client, error) => hooks.onClientError(client.id, error));

  const servers: Array<NetServer | HttpServer> = [];
  // Every connection the listeners accepted (the TCP socket under TLS and WebSocket), until it closes.
  const sockets = new Set<Socket>();
  const addServer = (server: NetServer | HttpServer): void => {
    servers.push(server);
    server.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    });
  };
  let tlsServer: TlsServer | undefined;
  let wss: WebSocketServer | undefined;
  async function close(): Promise<void> {
    const listenersClosed = Promise.all(servers.filter((server) => server.listening).map(closeServer));
    wss?.close();
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    // aedes closes only the clients it accepted. A listener's close waits for every connection, and
    // left alone these would hold the gateway's stop (and its shutdown checkpoint) past a service
    // manager's stop timeout: one that has not sent CONNECT yet (aedes waits 30 s for it), one whose
    // password was being checked (nothing closes it once aedes has closed), a TLS handshake under way
    // (Node waits 120 s for it), an HTTP request on the WebSocket port.
    for (const socket of sockets) socket.destroy();
    await listenersClosed;
  }

  /** Reports a connection's oversized packet once, whichever layer (WebSocket, MQTT) refuses it first. */
  function tooLargeReporter(remoteAddress: string | undefined): (packet: OversizedPacket) => void {
    let reported = false;
    return (packet) => {
      if (!reported) hooks.onPacketTooLarge(packet, remoteAddress);
      reported = true;
    };
  }
  /** Hands a connection to aedes behind the packet size limit. */
  const handle = (connection: Duplex, onTooLarge: (packet: OversizedPacket) => void, request?: IncomingMessage, commonName?: string) => {
    const guarded = guardPacketSize(connection, options.maxPacketBytes, onTooLarge);
    if (commonName !== undefined) certificateNameOf.set(guarded, commonName);
    aedes.handle(guarded, request);
  };

  try {
    let port: number | undefined;
    if (options.plain) {
      const tcp = createNetServer((socket) => handle(socket, tooLargeReporter(socket.remoteAddress)));
      addServer(tcp);
      port = await listen(tcp, options.port, options.host, 'mqtt.port');
    }

    let tlsPort: number | undefined;
    if (options.tls) {
      const { requireClientCert } = options.tls;
      if (!credentials.tls) throw new Error('the TLS listener needs its certificate and key (credentials.tls)');
      const { ca } = credentials.tls;
      const tls = createTlsServer(
        {
          ...credentials.tls,
          // Without a CA bundle no client certificate is asked for (it could not be verified).
          ...(ca === undefined ? {} : { requestCert: true, rejectUnauthorized: requireClientCert }),
        },
        (socket) => handle(socket, tooLargeReporter(socket.remoteAddress), undefined, verifiedCommonName(socket)),
      );
      // Refused before any MQTT packet: the only place such a client shows.
      tls.on('tlsClientError', (error, socket) => {
        if (!isHangUp(error, socket)) hooks.onTlsHandshakeFailed(socket.remoteAddress, error);
      });
      addServer(tls);
      tlsServer = tls;
      tlsPort = await listen(tls, options.tls.port, options.host, 'mqtt.tls.port');
    }

    let websocketPort: number | undefined;
    if (options.websocket) {
      // Only a WebSocket upgrade is served here; any other request is answered at once (without an
      // answer it would hold its connection open until Node's request timeout, 5 minutes).
      const http = createHttpServer((_request, response) => {
        response.writeHead(426, { upgrade: 'websocket', connection: 'close', 'content-type': 'text/plain' }).end('MQTT over WebSocket only\n');
      });
      // ws collects a whole message before handing it on: the same limit caps a message.
      wss = new WebSocketServer({ server: http, path: options.websocket.path, maxPayload: options.maxPacketBytes });
      wss.on('connection', (socket, request) => {
        const onTooLarge = tooLargeReporter(request.socket.remoteAddress);
        // ws refuses a message over maxPayload from its frame header, before the guard sees a byte of it.
        socket.on('error', (error: Error & { code?: string }) => {
          if (error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') onTooLarge({ type: 'websocket message' });
        });
        handle(createWebSocketStream(socket), onTooLarge, request);
      });
      addServer(http);
      websocketPort = await listen(http, options.websocket.port, options.host, 'mqtt.websocket.port');
    }

    const publish = (topic: string, payload: Buffer): void =>
      aedes.publish({ cmd: 'publish', topic, payload, qos: 0, retain: false, dup: false }, () => {});
    const replaceCredentials = (next: Credentials): void => {
      // The TLS context first: building it may throw (a key OpenSSL refuses), and then the users must
      // stay as they were too, so a refused reload leaves nothing half-applied. Sockets already
      // handshaken keep their context; the next handshakes use the new certificates.
      if (tlsServer && next.tls) tlsServer.setSecureContext(next.tls);
      credentials = next;
    };
    return { port, tlsPort, websocketPort, connectedClients: () => aedes.connectedClients, publish, replaceCredentials, close };
  } catch (error) {
    // A taken port or an unreadable certificate: aedes' timers must not keep the process alive.
    await close();
    throw error;
  }
}
