import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { SECTION_NAMES, SECTIONS, type SectionLists, type SectionName, ttlEnvName } from './sections.ts';

/**
 * The environment, parsed once at start by `loadConfig(process.env)` in each main.ts and passed
 * down as a value. Parsing never happens at import time, so tests build configs of their own.
 */

const PRICE_SOURCES = ['binance', 'simulated', 'none'] as const;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const intInRange = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, `must be a whole number from ${min} to ${max}`)
    .transform(Number)
    .pipe(z.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));

const url = (protocols: string[]) =>
  z
    .string()
    .trim()
    .refine(
      (value) => {
        try {
          return protocols.includes(new URL(value).protocol);
        } catch {
          return false;
        }
      },
      `must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`,
    );

/** `host:port,host:port` (IPv6 hosts in brackets) → a list of addresses, at least one. */
const hostPortList = z.string().transform((value, ctx) => {
  const out: RedisAddress[] = [];
  for (const item of value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$/.exec(item);
    const port = Number(m?.[2]);
    if (!m || port < 1 || port > 65535) {
      ctx.addIssue({
        code: 'custom',
        message: `must be a comma-separated list of host:port, not ${JSON.stringify(item)}`,
      });
      return z.NEVER;
    }
    out.push({ host: (m[1] as string).replace(/^\[|\]$/g, ''), port });
  }
  if (out.length === 0) {
    ctx.addIssue({ code: 'custom', message: 'must name at least one host:port' });
    return z.NEVER;
  }
  return out;
});

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

const envSchema = z.object({
  DATABASE_URL: url(['postgres:', 'postgresql:']).default('postgres://postgres@127.0.0.1:5432/snapboard'),
  // A streaming replica for the worker's section queries (SPEC §12); unset, they go to DATABASE_URL.
  DATABASE_READ_URL: url(['postgres:', 'postgresql:']).optional(),
  DATABASE_READ_WAIT_MS: intInRange(1, 600_000).optional(),
  // The Redis mode is chosen by which of these is set (at most one; none means REDIS_URL's default).
  REDIS_URL: url(['redis:', 'rediss:']).optional(),
  REDIS_SENTINELS: hostPortList.optional(),
  REDIS_SENTINEL_NAME: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1-64 characters of letters, digits, _ . -')
    .optional(),
  REDIS_CLUSTER_NODES: hostPortList.optional(),
  REDIS_USERNAME: z.string().min(1).optional(),
  REDIS_PASSWORD: z.string().min(1).optional(),
  // The sentinels' own credentials (Sentinel's `requirepass`), apart from the data nodes'.
  REDIS_SENTINEL_USERNAME: z.string().min(1).optional(),
  REDIS_SENTINEL_PASSWORD: z.string().min(1).optional(),
  // TLS to every node (and sentinel) of the latter two modes; one server says `rediss://` instead.
  REDIS_TLS: z
    .enum(['true', 'false', '1', '0'], { error: 'must be true or false' })
    .transform((value) => value === 'true' || value === '1')
    .optional(),
  API_PROCESSES: z
    .string()
    .trim()
    .regex(/^(auto|\d+)$/, 'must be a whole number from 1 to 256, or auto (one per core)')
    .transform((value) => (value === 'auto' ? availableParallelism() : Number(value)))
    .pipe(z.number().int().min(1, 'must be at least 1').max(256, 'must be at most 256'))
    .default(1),
  KEY_PREFIX: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'must be 1-64 characters of letters, digits, _ . : -')
    .default('dashboard'),
  HOST: z.string().trim().min(1, 'must not be empty').default('127.0.0.1'),
  PORT: intInRange(0, 65535).default(8000),
  // A secret is never defaulted: unset means the ops endpoints answer 403 ops_disabled.
  OPS_TOKEN: z
    .string()
    .min(16, 'must be at least 16 characters (or unset to disable ops endpoints)')
    .optional()
    .or(z.literal('').transform(() => undefined)),
  PRICE_SOURCE: z.enum(PRICE_SOURCES, { error: `must be one of ${PRICE_SOURCES.join(', ')}` }).default('simulated'),
  BINANCE_BASE_URL: url(['http:', 'https:'])
    .transform((value) => value.replace(/\/+$/, ''))
    .default('https://api.binance.com'),
  PRICE_TIMEOUT_MS: intInRange(1, 60_000).default(2000),
  REFRESH_WAIT_MS: intInRange(0, 60_000).default(3000),
  REFRESH_MIN_INTERVAL_MS: intInRange(1000, 3_600_000).default(5000),
  CORS_ORIGINS: z
    .string()
    .default('')
    .transform((value) =>
      value
        .split(',')
        .map((origin) => origin.trim())
        .filter(Boolean),
    )
    .pipe(
      z.array(
        z.string().refine((origin) => origin === '*' || /^https?:\/\/[^/\s]+$/.test(origin), {
          message: 'must be a comma-separated list of origins such as https://example.com (no path)',
        }),
      ),
    ),
  LOG_LEVEL: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }).default('info'),
  WS_MAX_CONNECTIONS: intInRange(1, 1_000_000).default(10_000),
  WS_MAX_CONNECTIONS_PER_IP: intInRange(1, 1_000_000).default(200),
  TRUST_PROXY_HOPS: intInRange(0, 10).default(0),
  WS_COMMANDS_PER_SECOND: intInRange(1, 10_000).default(20),
  // A subscribe to every section at limit 100 answers ~100 KiB; the burst (4×) must hold one.
  WS_ANSWER_BYTES_PER_SECOND: intInRange(65_536, 1_073_741_824).default(262_144),
});

/** `TTL_<NAME>` of each of the catalog's sections. */
const ttlSchema = intInRange(1, 86_400).optional();

export type PriceSource = (typeof PRICE_SOURCES)[number];
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface RedisAddress {
  host: string;
  port: number;
}

/**
 * Where Redis is (SPEC §12): one server by URL (`rediss:` for TLS), a Sentinel-managed primary, or
 * a Redis Cluster. Credentials of the latter two come from REDIS_USERNAME / REDIS_PASSWORD; a URL
 * carries its own.
 */
export type RedisTarget =
  | { mode: 'single'; url: string }
  | {
      mode: 'sentinel';
      sentinels: RedisAddress[];
      name: string;
      username?: string;
      password?: string;
      /** The sentinels' own credentials (REDIS_SENTINEL_USERNAME / _PASSWORD). */
      sentinelUsername?: string;
      sentinelPassword?: string;
      /** TLS to the sentinels and the data nodes (REDIS_TLS). */
      tls?: boolean;
    }
  | { mode: 'cluster'; nodes: RedisAddress[]; username?: string; password?: string; tls?: boolean };

export type RedisMode = RedisTarget['mode'];

/** How long a set waits for the replica to replay a change before it publishes nothing (SPEC §12). */
export const DEFAULT_DATABASE_READ_WAIT_MS = 5000;

export interface Config {
  databaseUrl: string;
  /** The streaming replica the worker's section queries read (DATABASE_READ_URL); undefined: the primary. */
  databaseReadUrl: string | undefined;
  /** How long a set waits for the replica to replay what the primary has committed (DATABASE_READ_WAIT_MS). */
  databaseReadWaitMs: number;
  redis: RedisTarget;
  keyPrefix: string;
  host: string;
  port: number;
  opsToken: string | undefined;
  priceSource: PriceSource;
  binanceBaseUrl: string;
  priceTimeoutMs: number;
  refreshWaitMs: number;
  /** A forced recompute (`refresh=true`) starts at most once per this many ms, across every API instance. */
  refreshMinIntervalMs: number;
  /** Seconds per section: the default of the catalog unless `TTL_<NAME>` says otherwise. */
  ttls: Readonly<Record<SectionName, number>>;
  corsOrigins: readonly string[];
  logLevel: LogLevel;
  /** Open WebSockets per API process; upgrades beyond it are refused with 503. */
  wsMaxConnections: number;
  /** Open WebSockets per client address; upgrades beyond it are refused with 429. */
  wsMaxConnectionsPerIp: number;
  /** Reverse proxies in front of the API whose X-Forwarded-For entries are trusted (0: none). */
  trustProxyHops: number;
  /** Commands a WebSocket connection may send per second (burst: twice that). */
  wsCommandsPerSecond: number;
  /** Bytes a connection may be sent per second in answer to its commands (burst: four times that). */
  wsAnswerBytesPerSecond: number;
  /** API processes sharing one port (node:cluster); 1 runs the API in the process itself. */
  apiProcesses: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: readonly { variable: string; message: string }[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  ${p.variable}: ${p.message}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** The part of a catalog the configuration reads: which sections there are and their cadences. */
export type ConfigCatalog = Pick<SectionLists, 'names' | 'sections'>;

/**
 * Parse the environment; throws ConfigError naming every bad variable. `catalog` names the sections
 * whose `TTL_<NAME>` is read (the product's unless a test adds one).
 */
export function loadConfig(
  env: Record<string, string | undefined>,
  catalog: ConfigCatalog = { names: SECTION_NAMES, sections: SECTIONS },
): Config {
  // An empty string means "unset" for everything but secrets, which the schema handles itself.
  const present = Object.fromEntries(
    Object.entries(env).filter(([key, value]) => value !== undefined && (value !== '' || key === 'OPS_TOKEN')),
  );
  const parsed = envSchema
    .extend(Object.fromEntries(catalog.names.map((name) => [ttlEnvName(name), ttlSchema])))
    .safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => ({
        variable: String(issue.path[0] ?? 'environment'),
        message: issue.message,
      })),
    );
  }
  const e = parsed.data as z.infer<typeof envSchema> & Record<string, unknown>;
  const redis = redisTarget(e);
  if (Array.isArray(redis)) throw new ConfigError(redis);
  if (e.DATABASE_READ_WAIT_MS !== undefined && e.DATABASE_READ_URL === undefined) {
    throw new ConfigError([{ variable: 'DATABASE_READ_WAIT_MS', message: 'applies only with DATABASE_READ_URL' }]);
  }
  const ttls = Object.fromEntries(
    catalog.names.map((name) => [
      name,
      (e[ttlEnvName(name)] as number | undefined) ?? catalog.sections[name].defaultTtl,
    ]),
  ) as Record<SectionName, number>;
  return {
    databaseUrl: e.DATABASE_URL,
    databaseReadUrl: e.DATABASE_READ_URL,
    databaseReadWaitMs: e.DATABASE_READ_WAIT_MS ?? DEFAULT_DATABASE_READ_WAIT_MS,
    redis,
    keyPrefix: e.KEY_PREFIX,
    host: e.HOST,
    port: e.PORT,
    opsToken: e.OPS_TOKEN,
    priceSource: e.PRICE_SOURCE,
    binanceBaseUrl: e.BINANCE_BASE_URL,
    priceTimeoutMs: e.PRICE_TIMEOUT_MS,
    refreshWaitMs: e.REFRESH_WAIT_MS,
    refreshMinIntervalMs: e.REFRESH_MIN_INTERVAL_MS,
    ttls,
    corsOrigins: e.CORS_ORIGINS,
    logLevel: e.LOG_LEVEL,
    wsMaxConnections: e.WS_MAX_CONNECTIONS,
    wsMaxConnectionsPerIp: e.WS_MAX_CONNECTIONS_PER_IP,
    trustProxyHops: e.TRUST_PROXY_HOPS,
    wsCommandsPerSecond: e.WS_COMMANDS_PER_SECOND,
    wsAnswerBytesPerSecond: e.WS_ANSWER_BYTES_PER_SECOND,
    apiProcesses: e.API_PROCESSES,
  };
}

type Problem = { variable: string; message: string };

/** The one Redis mode the environment names, or why it names none or several. */
function redisTarget(e: z.infer<typeof envSchema>): RedisTarget | Problem[] {
  const modes = (['REDIS_URL', 'REDIS_SENTINELS', 'REDIS_CLUSTER_NODES'] as const).filter((v) => e[v] !== undefined);
  const problems: Problem[] = [];
  if (modes.length > 1) {
    for (const variable of modes.slice(1)) {
      problems.push({
        variable,
        message: `cannot be combined with ${modes[0]}: set exactly one of REDIS_URL, REDIS_SENTINELS, REDIS_CLUSTER_NODES`,
      });
    }
  }
  if (e.REDIS_SENTINEL_NAME !== undefined && e.REDIS_SENTINELS === undefined) {
    problems.push({ variable: 'REDIS_SENTINEL_NAME', message: 'applies only with REDIS_SENTINELS' });
  }
  if (e.REDIS_SENTINELS === undefined) {
    for (const variable of ['REDIS_SENTINEL_USERNAME', 'REDIS_SENTINEL_PASSWORD'] as const) {
      if (e[variable] !== undefined) problems.push({ variable, message: 'applies only with REDIS_SENTINELS' });
    }
  }
  if (e.REDIS_SENTINELS === undefined && e.REDIS_CLUSTER_NODES === undefined && e.REDIS_TLS !== undefined) {
    problems.push({
      variable: 'REDIS_TLS',
      message: 'applies only with REDIS_SENTINELS or REDIS_CLUSTER_NODES (one server says rediss:// in REDIS_URL)',
    });
  }
  if (e.REDIS_SENTINELS === undefined && e.REDIS_CLUSTER_NODES === undefined) {
    for (const variable of ['REDIS_USERNAME', 'REDIS_PASSWORD'] as const) {
      if (e[variable] !== undefined) {
        problems.push({
          variable,
          message: 'applies only with REDIS_SENTINELS or REDIS_CLUSTER_NODES (a REDIS_URL carries its own credentials)',
        });
      }
    }
  }
  if (problems.length > 0) return problems;
  const credentials = {
    ...(e.REDIS_USERNAME === undefined ? {} : { username: e.REDIS_USERNAME }),
    ...(e.REDIS_PASSWORD === undefined ? {} : { password: e.REDIS_PASSWORD }),
    ...(e.REDIS_TLS ? { tls: true } : {}),
  };
  if (e.REDIS_SENTINELS) {
    return {
      mode: 'sentinel',
      sentinels: e.REDIS_SENTINELS,
      name: e.REDIS_SENTINEL_NAME ?? 'mymaster',
      ...credentials,
      ...(e.REDIS_SENTINEL_USERNAME === undefined ? {} : { sentinelUsername: e.REDIS_SENTINEL_USERNAME }),
      ...(e.REDIS_SENTINEL_PASSWORD === undefined ? {} : { sentinelPassword: e.REDIS_SENTINEL_PASSWORD }),
    };
  }
  if (e.REDIS_CLUSTER_NODES) return { mode: 'cluster', nodes: e.REDIS_CLUSTER_NODES, ...credentials };
  return { mode: 'single', url: e.REDIS_URL ?? DEFAULT_REDIS_URL };
}

/** Where Redis is, for logs: never a password. */
export function describeRedis(target: RedisTarget): string {
  const list = (addresses: RedisAddress[]) =>
    addresses.map(({ host, port }) => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`)).join(',');
  if (target.mode === 'single') return redactUrl(target.url);
  const tls = target.tls ? ' (TLS)' : '';
  if (target.mode === 'sentinel') return `sentinel ${target.name} via ${list(target.sentinels)}${tls}`;
  return `cluster via ${list(target.nodes)}${tls}`;
}

/**
 * Throws when `config` has no cadence for one of `sections`: a catalog with more sections was given
 * to a factory but not to `loadConfig`, which would publish snapshots without a ttl.
 */
export function checkTtls(config: Pick<Config, 'ttls'>, sections: readonly SectionName[]): void {
  const missing = sections.filter((name) => !(config.ttls[name] > 0));
  if (missing.length) {
    throw new TypeError(
      `the configuration has no TTL for ${missing.join(', ')}: load it with the same catalog (loadConfig(env, catalog))`,
    );
  }
}

/** For main.ts: a bad environment stops the process with a message naming each variable. */
export function loadConfigOrExit(env: Record<string, string | undefined> = process.env): Config {
  try {
    return loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}

/** The database URL with any password removed, for logs. */
export function redactUrl(value: string): string {
  try {
    const u = new URL(value);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<invalid url>';
  }
}
