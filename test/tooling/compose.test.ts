import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '@snapboard/shared';
import { describe, expect, it } from 'vitest';

/**
 * docker-compose.yml, checked without a Docker daemon (none runs here or in CI): Debian's
 * docker-compose parses, interpolates and validates the file against its schema with `config`, and
 * the environment each snapboard container would get must pass snapboard's own config (one Redis
 * mode, no mix). `.ci/run` installs docker-compose on a machine that lacks it; elsewhere the test
 * is skipped when it is missing.
 */

const ROOT = join(import.meta.dirname, '..', '..');
const available = (() => {
  try {
    execFileSync('docker-compose', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
// CI is where a missing tool must fail the test, not skip it.
const inCi = Boolean(process.env.CI);

function compose(...args: string[]): string {
  // Compose reads variables such as DATABASE_URL from the environment: give it none of ours.
  return execFileSync('docker-compose', ['-f', 'docker-compose.yml', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
  });
}

/** The `environment` of one service in `docker-compose config`'s normalised output. */
function environmentOf(normalised: string, service: string): Record<string, string> {
  const lines = normalised.split('\n');
  const start = lines.indexOf(`  ${service}:`);
  expect(start, `service ${service}`).toBeGreaterThanOrEqual(0);
  const env: Record<string, string> = {};
  let inside = false;
  for (const line of lines.slice(start + 1)) {
    if (/^ {2}\S/.test(line) || /^\S/.test(line)) break;
    if (line === '    environment:') {
      inside = true;
      continue;
    }
    if (inside && !line.startsWith('      ')) break;
    const m = inside ? /^ {6}([A-Z0-9_]+): (.*)$/.exec(line) : null;
    if (m) env[m[1] as string] = (m[2] as string).replace(/^'(.*)'$/, '$1');
  }
  return env;
}

describe.skipIf(!available && !inCi)('docker-compose.yml', () => {
  it('is valid with every profile', () => {
    for (const profile of [[], ['--profile', 'demo'], ['--profile', 'ha']]) {
      expect(() => compose(...profile, 'config', '-q')).not.toThrow();
    }
  });

  it('profile ha: 2 APIs behind a load balancer, a Redis primary with a replica, 3 Sentinels', () => {
    const services = compose('--profile', 'ha', 'config', '--services').trim().split('\n');
    for (const name of ['lb', 'api-1', 'api-2', 'worker-ha', 'redis-primary', 'redis-replica']) {
      expect(services).toContain(name);
    }
    expect(services.filter((s) => s.startsWith('sentinel-'))).toHaveLength(3);
    const nginx = readFileSync(join(ROOT, 'docker', 'nginx-ha.conf'), 'utf8');
    expect(nginx).toMatch(/server api-1:8000/);
    expect(nginx).toMatch(/server api-2:8000/);
    expect(nginx).toMatch(/proxy_set_header Upgrade \$http_upgrade/);
  });

  it('every snapboard container gets an environment snapboard starts with (one Redis mode each)', () => {
    const normalised = compose('--profile', 'ha', '--profile', 'demo', 'config');
    for (const service of ['worker', 'api', 'migrate']) {
      expect(loadConfig(environmentOf(normalised, service)).redis.mode).toBe('single');
    }
    for (const service of ['worker-ha', 'api-1', 'api-2']) {
      const config = loadConfig(environmentOf(normalised, service));
      expect(config.redis).toMatchObject({ mode: 'sentinel', name: 'snapboard' });
      expect(config.redis.mode === 'sentinel' && config.redis.sentinels).toHaveLength(3);
    }
    expect(loadConfig(environmentOf(normalised, 'api-1')).trustProxyHops).toBe(1);
  });
});
