/** `npm run bench` arguments: which suites, and whether to measure briefly. */

export interface BenchArgs {
  only: string[];
  quick: boolean;
}

/** The options, or a message saying what is wrong ('' for --help). Suites keep `known`'s order. */
export function parseArgs(argv: readonly string[], known: readonly string[]): BenchArgs | string {
  let only = [...known];
  let quick = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--quick') quick = true;
    else if (arg === '--only' || arg.startsWith('--only=')) {
      const value = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[++i];
      const names = (value ?? '')
        .split(',')
        .map((n) => n.trim())
        .filter(Boolean);
      const unknown = names.filter((n) => !known.includes(n));
      if (!names.length) return '--only needs a comma-separated list of suites';
      if (unknown.length) return `unknown suite(s): ${unknown.join(', ')} (known: ${known.join(', ')})`;
      only = known.filter((n) => names.includes(n));
    } else if (arg === '--help' || arg === '-h') return '';
    else return `unknown argument ${arg}`;
  }
  return { only, quick };
}
