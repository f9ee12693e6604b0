/**
 * Where a topic's partitions end and where a consumer group stands on them, read with an admin client.
 */
import { withAdmin } from './kafka.js';

/** Per-partition end offsets (`high`) of `topic`, and their sum minus the start offsets: records written. */
export async function topicEnds(
  brokers: string[],
  topic: string,
): Promise<{ byPartition: Map<number, string>; records: number }> {
  return withAdmin(brokers, 30_000, `reading the end offsets of ${topic}`, async (admin) => {
    const offsets = await admin.fetchTopicOffsets(topic);
    const byPartition = new Map(offsets.map((o) => [o.partition, o.high]));
    const records = offsets.reduce((sum, o) => sum + Number(o.high) - Number(o.low), 0);
    return { byPartition, records };
  });
}

/** The offsets `group` has committed on `topic`, per partition (`-1` = none). */
export async function committedOffsets(
  brokers: string[],
  group: string,
  topic: string,
): Promise<Map<number, string>> {
  return withAdmin(brokers, 30_000, `reading the offsets of ${group} on ${topic}`, async (admin) => {
    const [offsets] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    return new Map((offsets?.partitions ?? []).map((p) => [p.partition, p.offset]));
  });
}
