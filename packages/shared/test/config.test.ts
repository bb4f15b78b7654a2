import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  describeRedis,
  keysFor,
  loadConfig,
  SECTION_NAMES,
  SECTIONS,
  simulatedPrice,
} from '../src/index.ts';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems.map((p) => p.variable);
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('happy: defaults follow SPEC §6 and §9', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      databaseUrl: 'postgres://postgres@127.0.0.1:5432/snapboard',
      redis: { mode: 'single', url: 'redis://127.0.0.1:6379' },
      keyPrefix: 'dashboard',
      host: '127.0.0.1',
      port: 8000,
      opsToken: undefined,
      priceSource: 'simulated',
      binanceBaseUrl: 'https://api.binance.com',
      priceTimeoutMs: 2000,
      refreshWaitMs: 3000,
      corsOrigins: [],
      logLevel: 'info',
      wsMaxConnections: 10_000,
      wsMaxConnectionsPerIp: 200,
      trustProxyHops: 0,
      refreshMinIntervalMs: 5000,
      wsCommandsPerSecond: 20,
      wsAnswerBytesPerSecond: 262_144,
      apiProcesses: 1,
    });
    for (const name of SECTION_NAMES) expect(config.ttls[name]).toBe(SECTIONS[name].defaultTtl);
  });

  it('happy: TTL_<NAME> overrides one section only', () => {
    const config = loadConfig({ TTL_OPEN_POSITIONS: '1', TTL_LITE: ' 7 ' });
    expect(config.ttls.open_positions).toBe(1);
    expect(config.ttls.lite).toBe(7);
    expect(config.ttls.overview).toBe(5);
  });

  it('happy: CORS_ORIGINS is a trimmed list; empty values mean unset', () => {
    const config = loadConfig({ CORS_ORIGINS: 'https://a.example, http://b.example:3000', PORT: '' });
    expect(config.corsOrigins).toEqual(['https://a.example', 'http://b.example:3000']);
    expect(config.port).toBe(8000);
  });

  it.each([
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['PORT', '-1'],
    ['TTL_OVERVIEW', '0'],
    ['TTL_OVERVIEW', '1.5'],
    ['PRICE_SOURCE', 'coinbase'],
    ['REDIS_URL', 'localhost:6379'],
    ['DATABASE_URL', 'mysql://x@y/z'],
    ['KEY_PREFIX', 'has space'],
    ['OPS_TOKEN', 'short'],
    ['LOG_LEVEL', 'loud'],
    ['CORS_ORIGINS', 'https://a.example/path'],
    ['REFRESH_WAIT_MS', '1e3'],
    ['WS_MAX_CONNECTIONS_PER_IP', '0'],
    ['WS_MAX_CONNECTIONS', 'many'],
    ['TRUST_PROXY_HOPS', '-1'],
    ['TRUST_PROXY_HOPS', '11'],
    ['BINANCE_BASE_URL', 'ftp://example.com'],
    ['REFRESH_MIN_INTERVAL_MS', '999'],
    ['REFRESH_MIN_INTERVAL_MS', 'soon'],
    ['WS_COMMANDS_PER_SECOND', '0'],
    ['WS_ANSWER_BYTES_PER_SECOND', '1024'],
    ['REDIS_SENTINELS', 'host-without-port'],
    ['REDIS_SENTINELS', 'a:1,b:99999'],
    ['REDIS_CLUSTER_NODES', ','],
    ['REDIS_SENTINEL_NAME', 'my master'],
    ['API_PROCESSES', '0'],
    ['API_PROCESSES', 'many'],
    ['API_PROCESSES', '1.5'],
    ['DATABASE_READ_URL', 'mysql://replica/snapboard'],
  ])('error: %s=%s stops the process naming the variable', (variable, value) => {
    expect(problemsOf({ [variable]: value })).toEqual([variable]);
  });

  it('error: a refresh interval under a second is refused with the bound in the message', () => {
    expect(() => loadConfig({ REFRESH_MIN_INTERVAL_MS: '200' })).toThrow(
      /REFRESH_MIN_INTERVAL_MS: must be at least 1000/,
    );
    expect(loadConfig({ REFRESH_MIN_INTERVAL_MS: '1000', WS_COMMANDS_PER_SECOND: '5' })).toMatchObject({
      refreshMinIntervalMs: 1000,
      wsCommandsPerSecond: 5,
    });
  });

  it('error: every bad variable is named at once', () => {
    expect(problemsOf({ PORT: 'x', TTL_LITE: 'y' }).sort()).toEqual(['PORT', 'TTL_LITE']);
  });

  it('security: the message never echoes a secret value', () => {
    try {
      loadConfig({ OPS_TOKEN: 'tiny-secret' });
    } catch (error) {
      expect((error as Error).message).not.toContain('tiny-secret');
    }
  });
});

describe('loadConfig: the read replica (SPEC §12)', () => {
  it('happy: without DATABASE_READ_URL every query stays on DATABASE_URL', () => {
    expect(loadConfig({})).toMatchObject({ databaseReadUrl: undefined, databaseReadWaitMs: 5000 });
  });

  it('happy: DATABASE_READ_URL with its wait bound', () => {
    const env = { DATABASE_READ_URL: 'postgres://reader@replica:5432/snapboard' };
    expect(loadConfig(env)).toMatchObject({ databaseReadUrl: env.DATABASE_READ_URL, databaseReadWaitMs: 5000 });
    expect(loadConfig({ ...env, DATABASE_READ_WAIT_MS: '750' }).databaseReadWaitMs).toBe(750);
  });

  it.each([
    [{ DATABASE_READ_WAIT_MS: '1000' }, /DATABASE_READ_WAIT_MS: applies only with DATABASE_READ_URL/],
    [{ DATABASE_READ_URL: 'postgres://r/s', DATABASE_READ_WAIT_MS: '0' }, /DATABASE_READ_WAIT_MS: must be at least 1/],
    [{ DATABASE_READ_URL: 'postgres://r/s', DATABASE_READ_WAIT_MS: 'soon' }, /DATABASE_READ_WAIT_MS: must be a whole/],
  ])('error: %o stops the process naming the bound', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });
});

describe('loadConfig: Redis modes (SPEC §12)', () => {
  it('happy: REDIS_URL, rediss: included, is one server', () => {
    expect(loadConfig({ REDIS_URL: 'rediss://u:p@cache.example:6380/2' }).redis).toEqual({
      mode: 'single',
      url: 'rediss://u:p@cache.example:6380/2',
    });
  });

  it('happy: REDIS_SENTINELS with the default name and credentials', () => {
    const config = loadConfig({
      REDIS_SENTINELS: 's1:26379, s2:26380,[::1]:26381',
      REDIS_USERNAME: 'app',
      REDIS_PASSWORD: 'pw',
    });
    expect(config.redis).toEqual({
      mode: 'sentinel',
      name: 'mymaster',
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26380 },
        { host: '::1', port: 26381 },
      ],
      username: 'app',
      password: 'pw',
    });
    expect(describeRedis(config.redis)).toBe('sentinel mymaster via s1:26379,s2:26380,[::1]:26381');
    expect(describeRedis(config.redis)).not.toContain('pw');
  });

  it('happy: the sentinels have credentials of their own, and REDIS_TLS covers sentinels and nodes', () => {
    const config = loadConfig({
      REDIS_SENTINELS: 's1:26379',
      REDIS_PASSWORD: 'data-pw',
      REDIS_SENTINEL_USERNAME: 'watcher',
      REDIS_SENTINEL_PASSWORD: 'sentinel-pw',
      REDIS_TLS: 'true',
    });
    expect(config.redis).toEqual({
      mode: 'sentinel',
      name: 'mymaster',
      sentinels: [{ host: 's1', port: 26379 }],
      password: 'data-pw',
      sentinelUsername: 'watcher',
      sentinelPassword: 'sentinel-pw',
      tls: true,
    });
    expect(describeRedis(config.redis)).toBe('sentinel mymaster via s1:26379 (TLS)');
    expect(describeRedis(config.redis)).not.toContain('pw');
    expect(loadConfig({ REDIS_CLUSTER_NODES: 'c:1', REDIS_TLS: '1' }).redis).toMatchObject({ tls: true });
    expect(loadConfig({ REDIS_CLUSTER_NODES: 'c:1', REDIS_TLS: 'false' }).redis).not.toHaveProperty('tls');
  });

  it('happy: REDIS_CLUSTER_NODES are seeds; REDIS_SENTINEL_NAME names the primary', () => {
    expect(loadConfig({ REDIS_CLUSTER_NODES: '10.0.0.1:7000,10.0.0.2:7000' }).redis).toEqual({
      mode: 'cluster',
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: '10.0.0.2', port: 7000 },
      ],
    });
    expect(loadConfig({ REDIS_SENTINELS: 's:1', REDIS_SENTINEL_NAME: 'cache' }).redis).toMatchObject({ name: 'cache' });
  });

  it.each([
    [{ REDIS_URL: 'redis://a:1', REDIS_SENTINELS: 's:1' }, ['REDIS_SENTINELS']],
    [{ REDIS_URL: 'redis://a:1', REDIS_CLUSTER_NODES: 'c:1' }, ['REDIS_CLUSTER_NODES']],
    [{ REDIS_SENTINELS: 's:1', REDIS_CLUSTER_NODES: 'c:1' }, ['REDIS_CLUSTER_NODES']],
    [
      { REDIS_URL: 'redis://a:1', REDIS_SENTINELS: 's:1', REDIS_CLUSTER_NODES: 'c:1' },
      ['REDIS_SENTINELS', 'REDIS_CLUSTER_NODES'],
    ],
    [{ REDIS_SENTINEL_NAME: 'x' }, ['REDIS_SENTINEL_NAME']],
    [{ REDIS_CLUSTER_NODES: 'c:1', REDIS_SENTINEL_NAME: 'x' }, ['REDIS_SENTINEL_NAME']],
    [{ REDIS_URL: 'redis://a:1', REDIS_PASSWORD: 'pw' }, ['REDIS_PASSWORD']],
    [{ REDIS_USERNAME: 'u' }, ['REDIS_USERNAME']],
    [{ REDIS_CLUSTER_NODES: 'c:1', REDIS_SENTINEL_PASSWORD: 'pw' }, ['REDIS_SENTINEL_PASSWORD']],
    [{ REDIS_SENTINEL_USERNAME: 'u' }, ['REDIS_SENTINEL_USERNAME']],
    [{ REDIS_URL: 'redis://a:1', REDIS_TLS: 'true' }, ['REDIS_TLS']],
    [{ REDIS_CLUSTER_NODES: 'c:1', REDIS_TLS: 'yes' }, ['REDIS_TLS']],
  ])('error: a mix of modes stops the process naming the variables (%o)', (env, variables) => {
    expect(problemsOf(env)).toEqual(variables);
  });

  it('error: the message about a mix names every variable involved', () => {
    expect(() => loadConfig({ REDIS_URL: 'redis://a:1', REDIS_CLUSTER_NODES: 'c:1' })).toThrow(
      /REDIS_CLUSTER_NODES: cannot be combined with REDIS_URL/,
    );
  });

  it('happy: API_PROCESSES is a count, or auto = one per core', () => {
    expect(loadConfig({ API_PROCESSES: '3' }).apiProcesses).toBe(3);
    expect(loadConfig({ API_PROCESSES: 'auto' }).apiProcesses).toBeGreaterThanOrEqual(1);
  });
});

describe('keysFor', () => {
  it('derives every name from the prefix', () => {
    const keys = keysFor('p1');
    expect(keys.snapshot('overview')).toBe('p1:overview');
    const names = [keys.meta('lite'), keys.announceChannel, keys.bullPrefix, keys.failures, keys.priceFailures];
    for (const name of names) expect(name.startsWith('p1:')).toBe(true);
  });

  it('cluster mode: every key, channel and queue prefix carries the hash tag {KEY_PREFIX}', () => {
    const keys = keysFor('p1', 'cluster');
    expect(keys.snapshot('overview')).toBe('{p1}:overview');
    const names = [keys.meta('lite'), keys.announceChannel, keys.bullPrefix, keys.failures, keys.durations];
    for (const name of names) expect(name.startsWith('{p1}:')).toBe(true);
    // Sentinel mode is one server to the client: the names stay as they are.
    expect(keysFor('p1', 'sentinel').snapshot('overview')).toBe('p1:overview');
  });
});

describe('simulatedPrice', () => {
  it('is a pure function of symbol and time, near the base price, moving over minutes', () => {
    const t = Date.UTC(2026, 10, 27, 12);
    expect(simulatedPrice('BTCUSDT', t)).toBe(simulatedPrice('BTCUSDT', t));
    const p = simulatedPrice('BTCUSDT', t);
    expect(p).toBeGreaterThan(64_000 / 3);
    expect(p).toBeLessThan(64_000 * 3);
    const moves = Array.from({ length: 60 }, (_, i) => simulatedPrice('BTCUSDT', t + i * 10_000));
    expect(new Set(moves).size).toBeGreaterThan(50);
    expect(simulatedPrice('NOTASYMBOL', t)).toBeGreaterThan(0);
  });
});
