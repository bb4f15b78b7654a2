import { createHash, randomBytes } from 'node:crypto';
import { announceCommand, type RedisClient } from '@snapboard/redis';
import { type Keys, type SectionData, type SectionName, stableStringify } from '@snapboard/shared';
import { createFence } from './fence.ts';

/**
 * Compare-and-publish of a change set (SPEC §4 and §10, decisions 0001 and 0009) in one Lua script:
 * reading the metas, deciding, writing every member's snapshot and announcing the set happen
 * atomically even with several workers, so readers see all of a set or none of it.
 * - a set whose database snapshot is older than the last published set's, or than any member's stored
 *   computed_at, is refused whole: older data never overwrites newer, and never half of it;
 * - per member: no meta yet: a new epoch (the candidate passed in), version 1; same content hash:
 *   only computed_at moves; new hash: version + 1;
 * - the set gets the next `change` id and is announced once, with every member: a changed one with
 *   its whole snapshot, an unchanged one with its new computed_at only.
 * The JSON is assembled in the script because only it knows the versions; every piece spliced in is
 * either JSON already or a string of safe characters.
 * KEYS: changes, then meta and snapshot per member. ARGV: at_ms, computed_at, pg snapshot ('' for a
 * set that read no database), channel, PUBLISH or SPUBLISH (Redis Cluster's sharded pub/sub, decision
 * 0012), then section, hash, ttl, data, candidate epoch per member.
 */
const PUBLISH_SCRIPT = `
local at = tonumber(ARGV[1])
local last = tonumber(redis.call('HGET', KEYS[1], 'at_ms'))
if last and at < last then
  return {'rejected', '0'}
end
local members = (#KEYS - 1) / 2
for i = 1, members do
  local stored = tonumber(redis.call('HGET', KEYS[2 * i], 'computed_at_ms'))
  if stored and at < stored then
    return {'rejected', '0'}
  end
end
local id = string.format('%d', redis.call('HINCRBY', KEYS[1], 'id', 1))
redis.call('HSET', KEYS[1], 'at_ms', ARGV[1])
if ARGV[3] ~= '' then
  redis.call('HSET', KEYS[1], 'snapshot', ARGV[3])
end
-- The announcement as pieces joined once: a big member's bytes are copied into it once, not per step.
local parts = {'{"change":"', id, '","items":['}
local reply = {'published', id}
for i = 1, members do
  local base = 5 + (i - 1) * 5
  local section, hash, ttl, data = ARGV[base + 1], ARGV[base + 2], ARGV[base + 3], ARGV[base + 4]
  local meta = redis.call('HMGET', KEYS[2 * i], 'epoch', 'version', 'hash')
  local epoch = meta[1]
  local version = tonumber(meta[2])
  if not epoch or not version then
    epoch = ARGV[base + 5]
    version = 0
  end
  local changed = version == 0 or meta[3] ~= hash
  if changed then
    version = version + 1
  end
  local v = string.format('%d', version)
  local head = '{"section":"' .. section .. '","epoch":"' .. epoch .. '","version":' .. v
  local snapshot = head .. ',"computed_at":"' .. ARGV[2] .. '","ttl":' .. ttl .. ',"data":' .. data .. '}'
  redis.call('SET', KEYS[2 * i + 1], snapshot)
  redis.call('HSET', KEYS[2 * i], 'epoch', epoch, 'version', v, 'hash', hash, 'computed_at', ARGV[2], 'computed_at_ms', ARGV[1])
  if i > 1 then
    parts[#parts + 1] = ','
  end
  if changed then
    parts[#parts + 1] = '{"changed":true,"snapshot":'
    parts[#parts + 1] = snapshot
    parts[#parts + 1] = '}'
    table.insert(reply, 'changed')
  else
    parts[#parts + 1] = '{"changed":false,' .. string.sub(head, 2) .. ',"computed_at":"' .. ARGV[2] .. '"}'
    table.insert(reply, 'unchanged')
  end
  table.insert(reply, epoch)
  table.insert(reply, version)
end
parts[#parts + 1] = ']}'
redis.call(ARGV[5], ARGV[4], table.concat(parts))
return reply
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

export { stableStringify };

/**
 * A member's content hash is the hash of its JSON as published, which must not depend on the order in
 * which a section built its objects. A set's member is JSON of schema-checked data: zod builds a checked
 * object in its schema's key order, so equal data serializes equally (changeset.ts). Data that no schema
 * ordered (`contentHash`, `publish()`) is serialized with sorted keys instead, a walk that cost 3.5 ms of
 * a bot-trade set's 430 KB bot_trades where hashing its JSON costs 0.7.
 */
export function hashJson(json: string): string {
  return createHash('sha256').update(json).digest('hex');
}

export function contentHash(data: unknown): string {
  return hashJson(stableStringify(data));
}

export function newEpoch(): string {
  return randomBytes(8).toString('hex');
}

export interface SetMember<K extends SectionName = SectionName> {
  section: K;
  ttl: number;
  data: SectionData[K];
  /** `data` as JSON in a canonical key order, and `hashJson(json)`, when the caller has them already. */
  json?: string;
  hash?: string;
}

export interface SetInput {
  /** When the set's database snapshot was taken (SPEC §4's computed_at of every member). */
  computedAt: Date;
  /** That snapshot (pg_snapshot text), from which the next set finds what changed; none if no query ran. */
  dbSnapshot?: string;
  members: readonly SetMember[];
}

export interface SetResult {
  /** The set's id, or undefined when the whole set was refused as older than what is published. */
  change: string | undefined;
  members: Map<SectionName, PublishResult>;
}

export interface Publisher {
  publishSet(input: SetInput): Promise<SetResult>;
  /** One section as a set of its own. */
  publish<K extends SectionName>(input: PublishInput<K>): Promise<PublishResult>;
}

export function createPublisher(
  redis: RedisClient,
  keys: Keys,
  options: {
    onNewPrimary?: () => void;
    /** Every section of the catalog: a promoted primary starts a new epoch for each (fence.ts). */
    sections?: readonly SectionName[];
  } = {},
): Publisher {
  const publishCommand = announceCommand(redis);
  // Behind the fence: a publish that lands on a promoted primary starts new epochs (fence.ts).
  const fence = createFence(redis, keys, options.onNewPrimary, options.sections);
  const run = (keysAndArgs: (string | number)[], numberOfKeys: number) =>
    fence.run({ source: PUBLISH_SCRIPT, sha: SCRIPT_SHA, numberOfKeys }, keysAndArgs);

  async function publishSet({ computedAt, dbSnapshot, members }: SetInput): Promise<SetResult> {
    const redisKeys = [keys.changes, ...members.flatMap((m) => [keys.meta(m.section), keys.snapshot(m.section)])];
    const args = [
      computedAt.getTime(),
      computedAt.toISOString(),
      dbSnapshot ?? '',
      keys.announceChannel,
      publishCommand,
      ...members.flatMap((m) => {
        const json = m.json ?? stableStringify(m.data);
        return [m.section, m.hash ?? hashJson(json), m.ttl, json, newEpoch()];
      }),
    ];
    const reply = (await run([...redisKeys, ...args], redisKeys.length)) as (string | number)[];
    const results = new Map<SectionName, PublishResult>();
    if (reply[0] === 'rejected') {
      // Refused whole: report each member as it stands in Redis, for the logs.
      const metas = await Promise.all(members.map((m) => redis.hmget(keys.meta(m.section), 'epoch', 'version')));
      members.forEach((m, i) => {
        const [epoch, version] = metas[i] ?? [];
        results.set(m.section, { outcome: 'rejected', epoch: epoch ?? '', version: Number(version ?? 0) });
      });
      return { change: undefined, members: results };
    }
    members.forEach((m, i) => {
      const at = 2 + i * 3;
      results.set(m.section, {
        outcome: reply[at] as PublishOutcome,
        epoch: String(reply[at + 1]),
        version: Number(reply[at + 2]),
      });
    });
    return { change: String(reply[1]), members: results };
  }

  return {
    publishSet,
    async publish({ section, ttl, computedAt, data }) {
      const result = await publishSet({ computedAt, members: [{ section, ttl, data }] });
      return result.members.get(section) as PublishResult;
    },
  };
}
