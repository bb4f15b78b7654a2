import { parseArgs } from 'node:util';
import { createRecomputeQueue, requestRecompute } from '@snapboard/queue';
import { createRedisClient } from '@snapboard/redis';
import { keysForConfig, loadConfigOrExit, type SectionName, snapshotSchema } from '@snapboard/shared';
import { parseSections, UsageError } from './args.ts';

/**
 * `npm run recompute -- [--no-wait] [--timeout S] [section ...]` (no section: all of them).
 * Queues coalesced recomputes for the running worker(s), then waits until each section has a
 * snapshot computed after the request. Exit 0: all done; 1: not all within the timeout (the jobs stay
 * queued for when a worker runs); 2: bad arguments.
 */
const USAGE = 'usage: npm run recompute -- [--no-wait] [--timeout SECONDS] [section ...]';

function commandLine(argv: string[]): { wait: boolean; timeoutS: number; sections: SectionName[] } {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: true,
      options: {
        'no-wait': { type: 'boolean' },
        timeout: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      console.log(USAGE);
      process.exit(0);
    }
    const timeoutS = values.timeout === undefined ? 15 : Number(values.timeout);
    if (!Number.isFinite(timeoutS) || timeoutS <= 0) throw new UsageError('--timeout must be a positive number');
    return { wait: !values['no-wait'], timeoutS, sections: parseSections(positionals) };
  } catch (error) {
    // node's own messages name the option (ERR_PARSE_ARGS_*); ours are UsageErrors.
    const message = error instanceof UsageError ? error.message : `${(error as Error).message}\n${USAGE}`;
    process.stderr.write(`${message}\n`);
    process.exit(2);
  }
}

const { wait, timeoutS, sections } = commandLine(process.argv.slice(2));

const config = loadConfigOrExit();
const keys = keysForConfig(config);
const redis = createRedisClient(config.redis, { name: 'snapboard-recompute-cli', maxRetriesPerRequest: 1 });
redis.on('error', () => {});
const queue = createRecomputeQueue(redis, keys);
queue.on('error', () => {});

async function computedAt(section: SectionName): Promise<{ at: string; version: number } | undefined> {
  const raw = await redis.get(keys.snapshot(section));
  if (!raw) return undefined;
  const parsed = snapshotSchema.safeParse(JSON.parse(raw));
  return parsed.success ? { at: parsed.data.computed_at, version: parsed.data.version } : undefined;
}

let exitCode = 0;
try {
  await redis.ping();
  const requestedAt = new Date().toISOString();
  const jobs = await requestRecompute(queue, sections, 'manual');
  for (const job of jobs) console.log(`queued ${job.section} (job ${job.job_id})`);
  if (wait) {
    const pending = new Set(sections);
    const deadline = Date.now() + timeoutS * 1000;
    while (pending.size && Date.now() < deadline) {
      for (const section of [...pending]) {
        const current = await computedAt(section);
        if (current && current.at >= requestedAt) {
          console.log(`recomputed ${section}: version ${current.version} at ${current.at}`);
          pending.delete(section);
        }
      }
      if (pending.size) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    if (pending.size) {
      console.error(
        `not recomputed within ${timeoutS} s: ${[...pending].join(', ')} (still queued; is \`npm run worker\` running?)`,
      );
      exitCode = 1;
    }
  }
} catch (error) {
  console.error(`recompute failed: ${(error as Error).message}`);
  exitCode = 1;
} finally {
  await queue.close().catch(() => {});
  redis.disconnect();
}
process.exit(exitCode);
