import { createHash } from 'node:crypto';
import type { RedisClient } from '@snapboard/redis';
import { type Keys, SECTION_NAMES, type SectionName } from '@snapboard/shared';

/**
 * A promotion starts a new epoch (SPEC §12, decision 0012). Redis replicates asynchronously: a
 * publish the old primary acknowledged and announced may never have reached the replica that
 * Sentinel or the cluster promotes, and the promoted replica would then hand out that same
 * (epoch, version) for other data. Every primary has a replication id (`master_replid`) that a
 * promotion replaces, so the fence compares it with the one under which the deployment's epochs
 * were issued (kept in `keys.primary`): when it differs, the sections' epoch and version are dropped
 * and the next publish of each starts a new epoch — which every reader takes whatever its number.
 *
 * The fence runs in the same MULTI/EXEC as the publish it guards, so a publish retried on the new
 * primary after a failover (ioredis replays it there) is fenced there too: no (epoch, version)
 * survives a promotion, whichever primary the command finally runs on.
 */
export const FENCE_SCRIPT = `
local id = string.match(redis.call('INFO', 'replication'), 'master_replid:(%w+)')
if not id then return 0 end
local seen = redis.call('GET', KEYS[1])
if seen == id then return 0 end
redis.call('SET', KEYS[1], id)
if not seen then return 0 end
for i = 2, #KEYS do
  redis.call('HDEL', KEYS[i], 'epoch', 'version', 'hash')
end
return 1
`;

const FENCE_SHA = createHash('sha1').update(FENCE_SCRIPT).digest('hex');

export interface FencedScript {
  source: string;
  sha: string;
  numberOfKeys: number;
}

export interface Fence {
  /**
   * Run `script` behind the fence in one transaction; resolves with the script's reply.
   * `onNewPrimary` is called when this call found a promoted primary and dropped the epochs.
   */
  run(script: FencedScript, keysAndArgs: (string | number)[]): Promise<unknown>;
}

export function createFence(
  redis: RedisClient,
  keys: Keys,
  onNewPrimary: () => void = () => {},
  sections: readonly SectionName[] = SECTION_NAMES,
): Fence {
  const fenceKeys = [keys.primary, ...sections.map((s) => keys.meta(s))];

  async function once(script: FencedScript, keysAndArgs: (string | number)[], bySha: boolean) {
    const multi = redis.multi();
    if (bySha) multi.evalsha(FENCE_SHA, fenceKeys.length, ...fenceKeys);
    else multi.eval(FENCE_SCRIPT, fenceKeys.length, ...fenceKeys);
    if (bySha) multi.evalsha(script.sha, script.numberOfKeys, ...keysAndArgs);
    else multi.eval(script.source, script.numberOfKeys, ...keysAndArgs);
    const replies = await multi.exec();
    if (!replies) throw new Error('transaction aborted');
    return replies as [Error | null, unknown][];
  }

  return {
    async run(script, keysAndArgs) {
      let replies = await once(script, keysAndArgs, true);
      // A server that has not seen the scripts yet (new, restarted, promoted): send them whole once.
      if (replies.some(([error]) => error && String(error.message).includes('NOSCRIPT'))) {
        replies = await once(script, keysAndArgs, false);
      }
      const [[fenceError, rotated] = [null, 0], [scriptError, reply] = [null, undefined]] = replies;
      if (fenceError) throw fenceError;
      if (scriptError) throw scriptError;
      if (Number(rotated) === 1) onNewPrimary();
      return reply;
    },
  };
}
