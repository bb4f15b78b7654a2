import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { useTestEnv } from '@snapboard/devenv/testing';
import { CATALOG, extendCatalog, loadConfig, PATHS, type SectionDeclaration } from '@snapboard/shared';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { buildTestApp } from './support/app.ts';
import { probeEndpoint, probeSection } from './support/endpoint-probe.ts';

/**
 * An endpoint of a section's own is served and documented from its declaration alone
 * (test/catalog/throwaway-section.test.ts follows one through); one the API could not serve as
 * declared is refused when the app is built, not found out by a reader.
 */

const env = useTestEnv({ database: false });

const endpoint = probeEndpoint;
const section = probeSection;

async function build(declaration: SectionDeclaration) {
  const catalog = extendCatalog(CATALOG, declaration);
  const config = loadConfig({ REDIS_URL: env.redisUrl, KEY_PREFIX: env.keyPrefix, LOG_LEVEL: 'silent' }, catalog);
  const t = await buildTestApp(config, { catalog });
  await t.close();
}

describe('endpoints of a section of its own', () => {
  it('happy: a servable one builds', async () => {
    await expect(build(section([endpoint({})]))).resolves.toBeUndefined();
  });

  it('error: one at a path the API already serves is refused', async () => {
    await expect(build(section([endpoint({ path: PATHS.v2 })]))).rejects.toThrow(
      'GET /api/public/dashboard/v2 is registered twice',
    );
  });

  it('error: a flat one over data that is not an object is refused', async () => {
    await expect(build(section([endpoint({ answer: 'flat' })], z.array(z.number())))).rejects.toThrow(
      'the flat endpoint of endpoint_probe needs object data',
    );
  });

  it("error: one whose answer's schema takes a name OpenAPI already gives another is refused", async () => {
    await expect(build(section([endpoint({ schemaName: 'BotSummary' })]))).rejects.toThrow(
      'OpenAPI schema BotSummary is named twice',
    );
  });

  it('error: startApi refuses such a catalog and closes every connection it made (the process ends by itself)', async () => {
    const child = fileURLToPath(new URL('./support/refused-start.ts', import.meta.url));
    const { stdout } = await new Promise<{ stdout: string }>((resolve, reject) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', child],
        { env: { ...process.env, REDIS_URL: env.redisUrl, KEY_PREFIX: env.keyPrefix }, timeout: 20_000 },
        (error, out) => (error ? reject(error) : resolve({ stdout: out })),
      );
    });
    expect(stdout.trim()).toBe('refused: GET /api/public/dashboard/v2 is registered twice');
  }, 30_000);
});
