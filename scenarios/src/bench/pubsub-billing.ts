// Pub/Sub requests and billed bytes per hour, from what went over the wire: the emulator counts per
// topic the Publish requests it took and the bytes Google would bill for them (GET /stats; the rule is
// in @pdm/pubsub-emulator's message.ts: message data, attributes, ordering key, 20 bytes of timestamp and
// message_id, at least 1,000 bytes per request, cloud.google.com/pubsub/pricing).

export interface TopicCounters {
  published: number;
  publishRequests: number;
  billedPublishBytes: number;
}

export async function topicCounters(adminPort: number, topic: string): Promise<TopicCounters> {
  const res = await fetch(`http://127.0.0.1:${adminPort}/stats`);
  if (!res.ok) throw new Error(`Pub/Sub emulator /stats answered ${res.status}`);
  const stats = (await res.json()) as { topics: Record<string, TopicCounters | undefined> };
  const counters = stats.topics[topic];
  if (!counters) throw new Error(`Pub/Sub emulator /stats has no topic ${topic}`);
  return counters;
}

export interface HourlyPublish {
  messagesPerHour: number;
  requestsPerHour: number;
  billedBytesPerHour: number;
}

/** The counters' growth between two readings `elapsedMs` apart, scaled to one hour. */
export function perHour(before: TopicCounters, after: TopicCounters, elapsedMs: number): HourlyPublish {
  const scale = 3_600_000 / elapsedMs;
  return {
    messagesPerHour: (after.published - before.published) * scale,
    requestsPerHour: (after.publishRequests - before.publishRequests) * scale,
    billedBytesPerHour: (after.billedPublishBytes - before.billedPublishBytes) * scale,
  };
}
