import { isSectionName, SECTION_NAMES, type SectionName } from '@snapboard/shared';

export class UsageError extends Error {}

/** Section names from the command line; none means all. Unknown names are a usage error. */
export function parseSections(args: readonly string[]): SectionName[] {
  const unknown = args.filter((arg) => !isSectionName(arg));
  if (unknown.length) {
    throw new UsageError(
      `unknown section${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}\nknown sections: ${SECTION_NAMES.join(', ')}`,
    );
  }
  return args.length ? [...new Set(args as SectionName[])] : [...SECTION_NAMES];
}
