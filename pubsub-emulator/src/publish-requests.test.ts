// Publish requests the official client never sends but the service refuses, sent through a raw gRPC
// client: more than 1,000 messages, and messages of different ordering keys in one request. A
// product path or tool publishing through another client would pass against a lenient emulator and
// fail against Google.
import { credentials, makeGenericClientConstructor, status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPubSubServices } from './grpc/proto.js';
import { PROJECT, startTestEmulator, type TestEmulator, uniqueId } from './test-support/harness.js';

interface RawPublisher {
  Publish(request: unknown, done: (error: ServiceError | null, response?: { messageIds: string[] }) => void): void;
  close(): void;
}

describe('publish requests the service refuses', () => {
  let t: TestEmulator;
  let raw: RawPublisher;
  let topic: string;
  beforeAll(async () => {
    t = await startTestEmulator();
    topic = `projects/${PROJECT}/topics/${uniqueId('raw')}`;
    await t.client().createTopic(topic);
    const Publisher = makeGenericClientConstructor(loadPubSubServices().publisher, 'Publisher');
    raw = new Publisher(t.emulator.endpoint, credentials.createInsecure()) as unknown as RawPublisher;
  });
  afterAll(async () => {
    raw.close();
    await t.close();
  });

  const publish = (messages: Array<{ data: Buffer; orderingKey?: string }>) =>
    new Promise<string>((resolve) => raw.Publish({ topic, messages }, (error, response) => resolve(error ? `${status[error.code]}: ${error.details}` : `${response!.messageIds.length} ids`)));
  const message = (i: number, orderingKey?: string) => ({ data: Buffer.from(`m${i}`), ...(orderingKey === undefined ? {} : { orderingKey }) });

  it('takes 1,000 messages in one request and refuses 1,001', async () => {
    expect(await publish(Array.from({ length: 1000 }, (_, i) => message(i)))).toBe('1000 ids');
    expect(await publish(Array.from({ length: 1001 }, (_, i) => message(i)))).toBe('INVALID_ARGUMENT: The request holds 1001 messages; the limit is 1000.');
  });

  it('refuses messages of different ordering keys, or keyed and unkeyed, in one request', async () => {
    const mixed = 'FAILED_PRECONDITION: In a single publish request, all messages must have no ordering key or they must all have the same ordering key.';
    expect(await publish([message(1, 'gw-1:0'), message(2, 'gw-1:1')])).toBe(mixed);
    expect(await publish([message(1, 'gw-1:0'), message(2)])).toBe(mixed);
    expect(await publish([message(1, 'gw-1:0'), message(2, 'gw-1:0')])).toBe('2 ids');
  });
});
