// The decoded form of any accepted payload family, before validation. Timestamps are epoch ms,
// `undefined` meaning "use the gateway clock".
export type DecodedPayload =
  | { kind: 'single'; ts: number | undefined; value: unknown }
  | { kind: 'points'; ts: Array<number | undefined>; values: unknown[] }
  | { kind: 'block'; startTs: number | undefined; hz: unknown; values: unknown[] };
