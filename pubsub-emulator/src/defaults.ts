// Every knob of the emulator in one place. Limits mirror the real service
// (https://cloud.google.com/pubsub/quotas#resource_limits) because the client's behaviour depends on them.
export const EMULATOR_DEFAULTS = {
  /** gRPC port: 8085 is what Google's emulator and PUBSUB_EMULATOR_HOST examples use. 0 picks a free port. */
  port: 8085,
  /** Loopback only: the emulator has no authentication, so it must not listen on the network by default. */
  host: '127.0.0.1',
  /** Admin HTTP (/stats, /healthz). 0 picks a free port; the chosen one is returned and printed. */
  adminPort: 0,
  /** How often the production timer checks ack deadlines and backoffs. Tests drive it through the clock. */
  schedulerIntervalMs: 100,
  /** How long a unary Pull with nothing to deliver waits (real time) for a message before answering empty. */
  pullWaitMs: 1_000,
  /** Most messages in one StreamingPullResponse: batches amortise protobuf and HTTP/2 framing. */
  maxMessagesPerResponse: 1_000,
  /** Messages of one ordering key handed out at once. 1: the next only after the previous is acked.
   *  More: several in one response, as Google's service may send them (state/message-queue.ts). */
  orderingKeyBatch: 1,
  /** Debounce between a state change and the snapshot that records it (persistence only). */
  snapshotDebounceMs: 200,
  /** How often the per-subscription counters are logged (0 disables). */
  statsLogIntervalMs: 60_000,
  /** Service limits. */
  limits: {
    maxMessageBytes: 10 * 1024 * 1024,
    maxRequestBytes: 10 * 1024 * 1024,
    maxMessagesPerRequest: 1000,
    maxAttributes: 100,
    maxAttributeKeyBytes: 256,
    maxAttributeValueBytes: 1024,
    maxOrderingKeyBytes: 1024,
    minAckDeadlineSeconds: 10,
    maxAckDeadlineSeconds: 600,
    defaultAckDeadlineSeconds: 10,
    minDeliveryAttempts: 5,
    maxDeliveryAttempts: 100,
    /** RetryPolicy defaults when the policy is set but a bound is not. */
    defaultMinimumBackoffMs: 10_000,
    defaultMaximumBackoffMs: 600_000,
    maxBackoffMs: 600_000,
  },
} as const;

/** gRPC accepts bigger frames than the service so an oversize message reaches our validator and gets the
 *  service's INVALID_ARGUMENT instead of grpc-js's RESOURCE_EXHAUSTED (which the client would retry). */
export const GRPC_MAX_RECEIVE_BYTES = 4 * EMULATOR_DEFAULTS.limits.maxRequestBytes;
