import { PATHS, served } from './paths.ts';
import type { SectionName } from './sections.ts';

/**
 * Sections with a read endpoint of their own whose answer is the data's fields plus `timestamp`, with
 * no epoch or version: lite's (SPEC §6). A reader polling one of these reads it there. (Where each
 * section is served belongs in its catalog declaration; until then this is that part of it, zod-free.)
 */
export const FLAT_ENDPOINTS: Readonly<Partial<Record<SectionName, string>>> = { lite: served(PATHS.lite) };
