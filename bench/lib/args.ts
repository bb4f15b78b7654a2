import { parseArgs as parseCommandLine } from 'node:util';

/** `npm run bench` arguments: which suites, and whether to measure briefly. */

export interface BenchArgs {
  only: string[];
  quick: boolean;
}

const OPTIONS = {
  only: { type: 'string' },
  quick: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The options, or a message saying what is wrong ('' for --help). Suites keep `known`'s order. */
export function parseArgs(argv: readonly string[], known: readonly string[]): BenchArgs | string {
  // Not strict, so that a mistake is reported in this command's words rather than node's.
  const { values, tokens } = parseCommandLine({
    args: [...argv],
    options: OPTIONS,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  for (const token of tokens) {
    if (token.kind === 'positional') return `unknown argument ${token.value}`;
    if (token.kind === 'option' && !Object.hasOwn(OPTIONS, token.name)) return `unknown argument ${token.rawName}`;
  }
  if (values.help) return '';
  let only = [...known];
  if (values.only !== undefined) {
    const names = (typeof values.only === 'string' ? values.only : '')
      .split(',')
      .map((n) => n.trim())
      .filter(Boolean);
    const unknown = names.filter((n) => !known.includes(n));
    if (!names.length) return '--only needs a comma-separated list of suites';
    if (unknown.length) return `unknown suite(s): ${unknown.join(', ')} (known: ${known.join(', ')})`;
    only = known.filter((n) => names.includes(n));
  }
  return { only, quick: values.quick === true };
}
