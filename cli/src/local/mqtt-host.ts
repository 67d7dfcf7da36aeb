// Where `pdm start` lets sensors in: the MQTT broker binds to loopback unless --host says otherwise,
// because the local stack accepts anonymous sensors. Its own clients (the simulated fleet) and the
// address it prints use a host that reaches what was bound.
import { isIP } from 'node:net';
import { UsageError } from '../command.js';

export const DEFAULT_MQTT_HOST = '127.0.0.1';

/** A wildcard bind address listens on every interface; this machine reaches it on loopback. */
const LOOPBACK_FOR_WILDCARD: Record<string, string> = { '0.0.0.0': '127.0.0.1', '::': '::1' };

export interface MqttHost {
  /** The address the broker listens on. */
  bind: string;
  /** The address this machine connects to: `bind`, or loopback when `bind` is every interface. */
  connect: string;
}

export function chooseMqttHost(flag: string = DEFAULT_MQTT_HOST): MqttHost {
  const bind = flag.trim();
  if (bind === '') throw new UsageError('--host must be an address to listen on, such as 127.0.0.1 or 0.0.0.0');
  return { bind, connect: LOOPBACK_FOR_WILDCARD[bind] ?? bind };
}

export const mqttUrl = (host: string, port: number): string => `mqtt://${isIP(host) === 6 ? `[${host}]` : host}:${port}`;

/** What `pdm start` prints for the broker: the URL to connect to, and where it listens when that differs. */
export function describeMqttListener(host: MqttHost, port: number): string {
  const url = mqttUrl(host.connect, port);
  return host.bind === host.connect ? url : `${url}   (listening on ${host.bind}: every interface)`;
}
