import { z } from 'zod';
import { sectionDataSchemas } from './section-data.ts';
import {
  SECTION_DECLARATIONS,
  type SectionInfo,
  type SectionLists,
  type SectionName,
  sectionLists,
} from './sections.ts';
import { envelopeSchemas, type sectionNameSchema, socketData } from './snapshot.ts';

/**
 * A catalog as the API and the worker are built from it: the zod-free declarations of sections.ts
 * joined with each section's data schema, and everything derived from them. `createApp`,
 * `createSnapshotReplica`, `startApi`, `createWorker` and `loadConfig` take one and default to
 * CATALOG, the product's; a test builds its own with `extendCatalog` to add a section without
 * editing the product's files (docs/decisions/0016-one-section-catalog.md).
 */

/** One section, declared whole: what it is, where it is served, and the shape of its data. */
export interface SectionDeclaration<N extends string = string> extends SectionInfo<N> {
  schema: z.ZodType;
}

export interface Catalog extends SectionLists<SectionName> {
  readonly sections: Readonly<Record<SectionName, SectionDeclaration<SectionName>>>;
  /** Each section's data schema: what the worker publishes is checked against it. */
  readonly dataSchemas: Readonly<Record<SectionName, z.ZodType>>;
  /** The catalog's names as a schema (request parameters, the OpenAPI document). */
  readonly nameSchema: typeof sectionNameSchema;
  /** SPEC §4's envelope, naming only this catalog's sections. */
  readonly snapshotSchema: ReturnType<typeof envelopeSchemas<SectionName>>['snapshot'];
  readonly announcementSchema: ReturnType<typeof envelopeSchemas<SectionName>>['announcement'];
  readonly setAnnouncementSchema: ReturnType<typeof envelopeSchemas<SectionName>>['setAnnouncement'];
  has(value: unknown): value is SectionName;
  /** What the socket sends of a section's data (its declaration's `socketOmits` left out). */
  socketData(section: SectionName, data: unknown): unknown;
}

/**
 * Builds a catalog from declarations, in the order given. Names beyond the product's (a test's
 * throwaway section) are carried under the `SectionName` type: the compiler knows the product's
 * sections, the catalog value knows every one.
 */
export function createCatalog(declarations: readonly SectionDeclaration[]): Catalog {
  const typed = declarations as readonly SectionDeclaration<SectionName>[];
  const lists = sectionLists(typed);
  const sections = lists.sections as Record<SectionName, SectionDeclaration<SectionName>>;
  const known = new Set<string>(lists.names);
  const nameSchema = z.enum(lists.names);
  const envelopes = envelopeSchemas(nameSchema);
  return {
    ...lists,
    sections,
    dataSchemas: Object.fromEntries(typed.map((d) => [d.name, d.schema])) as Record<SectionName, z.ZodType>,
    nameSchema,
    snapshotSchema: envelopes.snapshot,
    announcementSchema: envelopes.announcement,
    setAnnouncementSchema: envelopes.setAnnouncement,
    has: (value): value is SectionName => typeof value === 'string' && known.has(value),
    socketData: (section, data) => socketData(section, data, sections[section]),
  };
}

/** `base` with more sections after its own (tests). */
export function extendCatalog(base: Catalog, ...declarations: readonly SectionDeclaration[]): Catalog {
  return createCatalog([...base.names.map((name) => base.sections[name]), ...declarations]);
}

/** The product's catalog: every section of sections.ts with its schema from section-data.ts. */
export const CATALOG: Catalog = createCatalog(
  SECTION_DECLARATIONS.map((declaration) => ({ ...declaration, schema: sectionDataSchemas[declaration.name] })),
);
