import { createHash, randomBytes } from 'node:crypto';
import { announceCommand, type RedisClient } from '@snapboard/redis';
import type { Keys, SectionData, SectionName } from '@snapboard/shared';
import { createFence } from './fence.ts';

/**
 * Compare-and-publish (SPEC §4, decision 0001) in one Lua script, so that reading the meta,
 * deciding, writing the snapshot and announcing it happen atomically even with several workers:
 * - no meta yet: a new epoch (the candidate passed in), version 1;
 * - a compute that started before the stored one is refused: older data never overwrites newer;
 * - same content hash: only computed_at moves (snapshot rewritten, `changed:false` announced);
 * - new hash: version + 1, snapshot written, `changed:true` announced with the whole snapshot.
 * The snapshot and announcement JSON are assembled in the script because only it knows the
 * version; every piece spliced in is either JSON already or a string of safe characters.
 * ARGV[9] is PUBLISH, or SPUBLISH in Redis Cluster (sharded pub/sub, decision 0012).
 */
const PUBLISH_SCRIPT = `
local meta = redis.call('HMGET', KEYS[1], 'epoch', 'version', 'hash', 'computed_at_ms')
local epoch = meta[1]
local version = tonumber(meta[2])
local at = tonumber(ARGV[4])
if not epoch or not version then
  epoch = ARGV[7]
  version = 0
else
  local stored = tonumber(meta[4])
  if stored and at < stored then
    return {'rejected', epoch, version}
  end
end
local changed = version == 0 or meta[3] ~= ARGV[2]
if changed then
  version = version + 1
end
local v = string.format('%d', version)
local head = '{"section":"' .. ARGV[1] .. '","epoch":"' .. epoch .. '","version":' .. v
local snapshot = head .. ',"computed_at":"' .. ARGV[3] .. '","ttl":' .. ARGV[5] .. ',"data":' .. ARGV[6] .. '}'
redis.call('SET', KEYS[2], snapshot)
redis.call('HSET', KEYS[1], 'epoch', epoch, 'version', v, 'hash', ARGV[2], 'computed_at', ARGV[3], 'computed_at_ms', ARGV[4])
if changed then
  redis.call(ARGV[9], ARGV[8], '{"changed":true,"snapshot":' .. snapshot .. '}')
  return {'changed', epoch, version}
end
redis.call(ARGV[9], ARGV[8], '{"changed":false,"section":"' .. ARGV[1] .. '","epoch":"' .. epoch .. '","version":' .. v .. ',"computed_at":"' .. ARGV[3] .. '"}')
return {'unchanged', epoch, version}
`;

const SCRIPT_SHA = createHash('sha1').update(PUBLISH_SCRIPT).digest('hex');

export type PublishOutcome = 'changed' | 'unchanged' | 'rejected';

export interface PublishResult {
  outcome: PublishOutcome;
  epoch: string;
  version: number;
}

export interface PublishInput<K extends SectionName> {
  section: K;
  ttl: number;
  /** When the compute started (SPEC §4). */
  computedAt: Date;
  data: SectionData[K];
}

/**
 * JSON with object keys sorted at every level: the content hash depends on the data, never on the
 * order in which a section happened to build its objects.
 */
export function stableStringify(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(v).sort()) sorted[key] = (v as Record<string, unknown>)[key];
    return sorted;
  });
}

export function contentHash(data: unknown): string {
  return createHash('sha256').update(stableStringify(data)).digest('hex');
}

export function newEpoch(): string {
  return randomBytes(8).toString('hex');
}

export interface Publisher {
  publish<K extends SectionName>(input: PublishInput<K>): Promise<PublishResult>;
}

export function createPublisher(
  redis: RedisClient,
  keys: Keys,
  options: { onNewPrimary?: () => void } = {},
): Publisher {
  const publishCommand = announceCommand(redis);
  // Behind the fence: a publish that lands on a promoted primary starts new epochs (fence.ts).
  const fence = createFence(redis, keys, options.onNewPrimary);
  const script = { source: PUBLISH_SCRIPT, sha: SCRIPT_SHA, numberOfKeys: 2 };
  const run = (keysAndArgs: (string | number)[]) => fence.run(script, keysAndArgs);

  return {
    async publish({ section, ttl, computedAt, data }) {
      const reply = (await run([
        keys.meta(section),
        keys.snapshot(section),
        section,
        contentHash(data),
        computedAt.toISOString(),
        computedAt.getTime(),
        ttl,
        JSON.stringify(data),
        newEpoch(),
        keys.announceChannel,
        publishCommand,
      ])) as [PublishOutcome, string, number];
      return { outcome: reply[0], epoch: reply[1], version: Number(reply[2]) };
    },
  };
}
