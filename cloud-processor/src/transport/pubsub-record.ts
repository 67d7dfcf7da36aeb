// What PubSubClient.emit() publishes: already-encoded bytes plus optional attributes and ordering key.
// (The pattern becomes the `schema` attribute, so receivers route without decoding.)
export class PubSubRecord {
  constructor(
    readonly data: Uint8Array,
    readonly options: { attributes?: Record<string, string>; orderingKey?: string } = {},
  ) {}
}
