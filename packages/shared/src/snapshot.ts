import { z } from 'zod';
import type { SectionData } from './section-data.ts';
import { SECTION_NAMES, SECTIONS, type SectionInfo, type SectionName } from './sections.ts';

/**
 * The snapshot envelope (SPEC §4) and the worker's announcements of it. The schemas are built for a
 * catalog's names (catalog.ts `createCatalog`); the ones exported here are the product catalog's.
 */

const iso = z.string().describe('ISO-8601 UTC timestamp');

/** The envelope schemas that name a section, for one catalog's section-name schema. */
export function envelopeSchemas<N extends string>(sectionName: z.ZodType<N>) {
  /** What `{KEY_PREFIX}:{section}` holds. */
  const snapshot = z.object({
    section: sectionName,
    epoch: z.string().min(1),
    version: z.number().int().positive(),
    computed_at: iso,
    ttl: z.number().int().positive(),
    data: z.unknown(),
  });
  /**
   * What the worker publishes on the announce channel after every compare-and-publish.
   * `changed: true` carries the whole snapshot so API instances need no extra round trip;
   * `changed: false` only refreshes computed_at.
   */
  const announcement = z.discriminatedUnion('changed', [
    z.object({ changed: z.literal(true), snapshot }),
    z.object({
      changed: z.literal(false),
      section: sectionName,
      epoch: z.string(),
      version: z.number().int().positive(),
      computed_at: iso,
    }),
  ]);
  /**
   * What the worker announces for a change set (SPEC §10): one message per set, its id `change`
   * (increasing, decimal) and one item per member, in the shape of a single announcement.
   */
  const setAnnouncement = z.object({
    change: z.string().regex(/^\d+$/),
    items: z.array(announcement).min(1),
  });
  return { snapshot, announcement, setAnnouncement };
}

export const sectionNameSchema = z.enum(SECTION_NAMES);

const PRODUCT_ENVELOPES = envelopeSchemas(sectionNameSchema);
export const snapshotSchema = PRODUCT_ENVELOPES.snapshot;
export const announcementSchema = PRODUCT_ENVELOPES.announcement;
export const setAnnouncementSchema = PRODUCT_ENVELOPES.setAnnouncement;

export type Snapshot<K extends SectionName = SectionName> = {
  section: K;
  epoch: string;
  version: number;
  computed_at: string;
  ttl: number;
  data: SectionData[K];
};

export type Announcement =
  | { changed: true; snapshot: Snapshot }
  | { changed: false; section: SectionName; epoch: string; version: number; computed_at: string };

export interface SetAnnouncement {
  change: string;
  items: Announcement[];
}

/** Is `b` a newer state of a section than `a`? Across epochs the newer epoch always wins. */
export function isNewer(
  a: { epoch: string; version: number; computed_at: string } | undefined,
  b: { epoch: string; version: number; computed_at: string },
): boolean {
  if (!a) return true;
  if (a.epoch !== b.epoch) return b.computed_at >= a.computed_at;
  return b.version > a.version || (b.version === a.version && b.computed_at > a.computed_at);
}

/**
 * What the socket sends of a section's data: the data itself without the fields its declaration
 * says the socket leaves out (`socketOmits`: bot_performance's hourly figures, SPEC §11). Data that
 * carries none of them is returned as it is.
 */
export function socketData(
  section: SectionName,
  data: unknown,
  info: Pick<SectionInfo, 'socketOmits'> | undefined = SECTIONS[section],
): unknown {
  const omit = info?.socketOmits;
  if (!omit?.length || data === null || typeof data !== 'object' || Array.isArray(data)) return data;
  if (!omit.some((field) => field in data)) return data;
  return Object.fromEntries(Object.entries(data).filter(([field]) => !omit.includes(field)));
}
