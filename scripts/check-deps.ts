/**
 * Every workspace declares what it imports. npm workspaces hoist every package to the root, so an
 * undeclared import works here and breaks for whoever installs the package alone — and Turborepo's
 * task graph, built from the declarations, does not know the edge. This check reads each workspace's
 * TypeScript sources, and fails when a bare import names a package its package.json does not list:
 * runtime code (`src/`) needs `dependencies` (a type-only import may use `devDependencies`, since it is
 * erased), tests and tooling may use either.
 *
 * Run: `npm run check:deps` (part of `npm run check` and CI).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative, sep } from 'node:path';

interface Manifest {
  name: string;
  workspaces?: string[];
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

interface Problem {
  file: string;
  line: number;
  specifier: string;
  why: string;
}

const ROOT = new URL('..', import.meta.url).pathname;
const SKIP_DIRS = new Set(['node_modules', 'dist', '.turbo', '.data', 'test-artifacts', 'results']);
const BUILTINS = new Set(builtinModules);

// `import x from 'p'`, `import type { X } from 'p'`, `export … from 'p'`, `import('p')`, `require('p')`,
// `import 'p'`. Good enough for this codebase's own formatting (Biome keeps `from '…'` on one line).
const IMPORT_RE =
  /(?:^|[\s;])(import|export)\s+(type\s+)?(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]|(?:import|require)\(\s*['"]([^'"]+)['"]\s*\)/g;

/** Blanks comments (keeping line numbers), so an import quoted in a comment is not taken for one. */
function stripComments(text: string): string {
  const blank = (s: string) => s.replace(/[^\n]/g, ' ');
  return text
    .replace(/\/\*[\s\S]*?\*\//g, blank)
    .replace(/(^|\s)\/\/.*$/gm, (m, lead: string) => lead + blank(m.slice(lead.length)));
}

function packageName(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:')) return undefined;
  const parts = specifier.split('/');
  const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
  if (name === undefined || BUILTINS.has(name)) return undefined;
  return name;
}

function* sourceFiles(dir: string, skip: ReadonlySet<string>): Generator<string> {
  for (const entry of readdirSync(dir)) {
    if (SKIP_DIRS.has(entry) || entry.startsWith('.')) continue;
    const path = join(dir, entry);
    if (skip.has(path)) continue;
    if (statSync(path).isDirectory()) yield* sourceFiles(path, skip);
    else if (/\.(?:ts|tsx|mts|cts)$/.test(entry) && !entry.endsWith('.d.ts')) yield path;
  }
}

function readManifest(dir: string): Manifest {
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest;
}

/** The problems of one package: `dir` holds its package.json; `skip` are nested workspaces. */
export function checkPackage(dir: string, skip: ReadonlySet<string> = new Set()): Problem[] {
  const manifest = readManifest(dir);
  const runtime = new Set([
    manifest.name,
    ...Object.keys(manifest.dependencies ?? {}),
    ...Object.keys(manifest.peerDependencies ?? {}),
  ]);
  const all = new Set([...runtime, ...Object.keys(manifest.devDependencies ?? {})]);
  const problems: Problem[] = [];
  for (const file of sourceFiles(dir, skip)) {
    const isRuntime = relative(dir, file).split(sep)[0] === 'src' && !/\.test\.tsx?$/.test(file);
    const text = stripComments(readFileSync(file, 'utf8'));
    for (const match of text.matchAll(IMPORT_RE)) {
      const specifier = match[3] ?? match[4];
      if (specifier === undefined) continue;
      const name = packageName(specifier);
      if (name === undefined) continue;
      const typeOnly = match[2] !== undefined;
      // The line of the specifier (the match may start on the newline before `import`).
      const line = text.slice(0, match.index + match[0].length).split('\n').length;
      const where = relative(ROOT, file);
      if (!all.has(name)) {
        problems.push({
          file: where,
          line,
          specifier,
          why: `${name} is not declared in ${manifest.name}'s package.json`,
        });
      } else if (isRuntime && !typeOnly && !runtime.has(name)) {
        problems.push({
          file: where,
          line,
          specifier,
          why: `${name} is imported at run time but only a devDependency of ${manifest.name}`,
        });
      }
    }
  }
  return problems;
}

function workspaceDirs(root: string): string[] {
  const dirs: string[] = [];
  for (const pattern of readManifest(root).workspaces ?? []) {
    const base = join(root, pattern.replace(/\/\*$/, ''));
    for (const entry of readdirSync(base)) {
      const dir = join(base, entry);
      if (statSync(join(dir, 'package.json'), { throwIfNoEntry: false })?.isFile()) dirs.push(dir);
    }
  }
  return dirs;
}

function main(): void {
  const workspaces = workspaceDirs(ROOT);
  const problems = [
    ...workspaces.flatMap((dir) => checkPackage(dir)),
    // The root's own code (scripts, bench, end-to-end tests) answers to the root package.json.
    ...checkPackage(ROOT, new Set([...workspaces, join(ROOT, 'packages'), join(ROOT, 'apps')])),
  ];
  for (const p of problems) console.error(`${p.file}:${p.line}: '${p.specifier}': ${p.why}`);
  if (problems.length > 0) {
    console.error(`check-deps: ${problems.length} undeclared import(s)`);
    process.exit(1);
  }
  console.log(`check-deps: ${workspaces.length + 1} packages declare every package they import`);
}

if (process.argv[1] !== undefined && import.meta.url === new URL(process.argv[1], 'file://').href) main();
