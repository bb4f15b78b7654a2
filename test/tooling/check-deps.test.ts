import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkPackage } from '../../scripts/check-deps.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const q = (specifier: string) => `'${specifier}'`;

function fixture(manifest: object, files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'check-deps-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: '@fixture/pkg', ...manifest }));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

describe('check-deps', () => {
  it('accepts a package whose imports are all declared', () => {
    const dir = fixture(
      { dependencies: { zod: '^4' }, devDependencies: { vitest: '^4' } },
      {
        'src/index.ts':
          "import { z } from 'zod';\nimport { readFileSync } from 'node:fs';\nimport path from 'path';\nimport { x } from './x.js';\n",
        'src/types.ts': "import type { TestContext } from 'vitest';\n",
        'test/a.test.ts': "import { it } from 'vitest';\nimport { z } from 'zod/mini';\n",
      },
    );
    expect(checkPackage(dir)).toEqual([]);
  });

  it('finds an undeclared import, naming the file, line and package', () => {
    const dir = fixture(
      {},
      {
        // Specifiers go in through q(): written out here, the repository's own check would find them.
        'src/index.ts': `// import x from ${q('ignored-in-a-comment')};\n\nimport { Queue } from 'bullmq';\nconst m = await import(${q('@scope/lib/sub')});\n`,
      },
    );
    const problems = checkPackage(dir);
    expect(problems.map((p) => [p.line, p.specifier])).toEqual([
      [3, 'bullmq'],
      [4, '@scope/lib/sub'],
    ]);
    expect(problems[1]?.why).toContain('@scope/lib is not declared');
  });

  it('refuses a run-time import of a devDependency, but not a type-only one or one from a test', () => {
    const dir = fixture(
      { devDependencies: { pg: '^8' } },
      {
        'src/db.ts': "import type { Pool } from 'pg';\nimport pg from 'pg';\n",
        'test/db.test.ts': "import pg from 'pg';\n",
      },
    );
    expect(
      checkPackage(dir).map((p) => [p.file.endsWith('src/db.ts'), p.line, p.why.includes('only a devDependency')]),
    ).toEqual([[true, 2, true]]);
  });
});
