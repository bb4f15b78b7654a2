import type { SectionDeclaration, SectionEndpoint } from '@snapboard/shared';
import { z } from 'zod';

/** A section declared only to try an endpoint of its own (section-endpoints.test.ts and its child). */

export const probeEndpoint = (extra: Partial<SectionEndpoint>): SectionEndpoint => ({
  path: '/api/public/probe',
  answer: 'data',
  tag: 'dashboard',
  summary: 'A probe.',
  schemaName: 'Probe',
  ...extra,
});

export const probeSection = (
  endpoints: SectionEndpoint[],
  schema: z.ZodType = z.object({ n: z.number() }),
): SectionDeclaration => ({
  name: 'endpoint_probe',
  title: 'Endpoint probe',
  defaultTtl: 10,
  tables: [],
  limited: false,
  inV2: false,
  onPage: false,
  endpoints,
  schema,
});
