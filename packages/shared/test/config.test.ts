import { describe, expect, it } from 'vitest';
import { ConfigError, keysFor, loadConfig, SECTION_NAMES, SECTIONS, simulatedPrice } from '../src/index.ts';

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
      redisUrl: 'redis://127.0.0.1:6379',
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

describe('keysFor', () => {
  it('derives every name from the prefix', () => {
    const keys = keysFor('p1');
    expect(keys.snapshot('overview')).toBe('p1:overview');
    const names = [keys.meta('lite'), keys.announceChannel, keys.bullPrefix, keys.failures, keys.priceFailures];
    for (const name of names) expect(name.startsWith('p1:')).toBe(true);
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
