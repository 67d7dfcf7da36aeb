// The Sparkplug B topic namespace (Sparkplug 3.0, 4.1): spBv1.0/{group}/{type}/{edge node}[/{device}].
// Node messages (NBIRTH, NDEATH, NDATA, NCMD) name no device; device messages (DBIRTH, DDEATH, DDATA,
// DCMD) name one. spBv1.0/STATE/{host} (a host application's state) is not an edge node's message.

export const SPARKPLUG_PREFIX = 'spBv1.0/';

export const MESSAGE_TYPES = ['NBIRTH', 'NDEATH', 'NDATA', 'NCMD', 'DBIRTH', 'DDEATH', 'DDATA', 'DCMD'] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

export interface SparkplugTopic {
  readonly group: string;
  readonly type: MessageType;
  readonly node: string;
  /** Present exactly for the device message types. */
  readonly device?: string;
}

const isMessageType = (type: string): type is MessageType => (MESSAGE_TYPES as readonly string[]).includes(type);

/** The parts of a Sparkplug B topic, or undefined when it is none (wrong level count, unknown type, empty id). */
export function parseSparkplugTopic(topic: string): SparkplugTopic | undefined {
  if (!topic.startsWith(SPARKPLUG_PREFIX)) return undefined;
  const levels = topic.split('/');
  const [, group, type, node, device] = levels;
  if (group === undefined || type === undefined || node === undefined || !isMessageType(type)) return undefined;
  if (group === '' || node === '') return undefined;
  const isDeviceType = type.startsWith('D');
  if (levels.length !== (isDeviceType ? 5 : 4)) return undefined;
  if (!isDeviceType) return { group, type, node };
  return device ? { group, type, node, device } : undefined;
}

/** The topic of a command to an edge node. */
export const nodeCommandTopic = (group: string, node: string): string => `${SPARKPLUG_PREFIX}${group}/NCMD/${node}`;
