// The google.pubsub.v1 messages as @grpc/proto-loader hands them to us (see PROTO_LOADER_OPTIONS): only the
// fields the emulator reads or writes. Everything arriving from the network is still checked at run time.

export interface WireTimestamp {
  seconds: number;
  nanos: number;
}
export interface WireDuration {
  seconds: number;
  nanos: number;
}

export interface WirePubsubMessage {
  data: Buffer;
  attributes: Record<string, string>;
  messageId: string;
  publishTime: WireTimestamp | null;
  orderingKey: string;
}

export interface WireReceivedMessage {
  ackId: string;
  message: WirePubsubMessage;
  deliveryAttempt: number;
}

export interface WireTopic {
  name: string;
  labels: Record<string, string>;
  messageRetentionDuration?: WireDuration | null;
}

export interface WireDeadLetterPolicy {
  deadLetterTopic: string;
  maxDeliveryAttempts: number;
}
export interface WireRetryPolicy {
  minimumBackoff: WireDuration | null;
  maximumBackoff: WireDuration | null;
}

export interface WireSubscription {
  name: string;
  topic: string;
  ackDeadlineSeconds: number;
  labels: Record<string, string>;
  enableMessageOrdering: boolean;
  deadLetterPolicy: WireDeadLetterPolicy | null;
  retryPolicy: WireRetryPolicy | null;
  filter: string;
  enableExactlyOnceDelivery: boolean;
  pushConfig: { pushEndpoint: string } | null;
  detached: boolean;
  state?: string;
}

export interface WireStreamingPullRequest {
  subscription: string;
  ackIds: string[];
  modifyDeadlineSeconds: number[];
  modifyDeadlineAckIds: string[];
  streamAckDeadlineSeconds: number;
  clientId: string;
  maxOutstandingMessages: number;
  maxOutstandingBytes: number;
}

export const durationToMs = (d: WireDuration | null | undefined): number | undefined =>
  d ? Number(d.seconds) * 1000 + Math.floor(Number(d.nanos) / 1e6) : undefined;

export const msToDuration = (ms: number): WireDuration => ({ seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 });

export const msToTimestamp = (ms: number): WireTimestamp => ({ seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 });
