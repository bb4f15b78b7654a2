import type { SectionName } from './sections.ts';

/**
 * The public paths a reader uses, for the SDK and the page (zod-free, so the browser bundle can take
 * them). Written as the API's route patterns (no trailing slash; SPEC §6 answers with and without).
 */
export const DASHBOARD_PATHS = {
  v2: '/api/public/dashboard/v2',
  lite: '/api/public/dashboard/lite',
  section: '/api/public/dashboard/sections/:name',
} as const;

/** The one path on which the API accepts WebSocket upgrades. */
export const WS_PATH = '/ws';

/** `/api/public/dashboard/sections/{name}/`. */
export const sectionPath = (name: SectionName): string => `${DASHBOARD_PATHS.section.replace(':name', name)}/`;

/**
 * Sections with a read endpoint of their own whose answer is the data's fields plus `timestamp`, and
 * no epoch or version: lite's (SPEC §6). A reader polling one of these reads it there.
 */
export const FLAT_ENDPOINTS: Readonly<Partial<Record<SectionName, string>>> = { lite: `${DASHBOARD_PATHS.lite}/` };
