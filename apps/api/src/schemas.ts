import {
  BOT_DIRECTIONS,
  BOT_MARKET_TYPES,
  BOT_MAX_DAYS,
  BOT_TRADE_STATUSES,
  botPerformanceSchema,
  botTradeListSchema,
  type Catalog,
  DEFAULT_LIMIT,
  type EndpointAnswer,
  ERROR_STATUS,
  type ErrorCode,
  MAX_LIMIT,
  type SectionEndpoint,
  type SectionName,
} from '@snapboard/shared';
import { z } from 'zod';

/**
 * The zod schemas the routes validate with and the OpenAPI document is generated from (openapi.ts),
 * so the two cannot drift. Response shapes are built from the section catalog of packages/shared:
 * what names a section (the v2 body, the section endpoint, readiness, the ops body) is made per
 * catalog by `catalogSchemas`.
 */

// ---- Request parameters -------------------------------------------------------------------------

/** A whole number 1..max in digits only: `1e1`, `+5`, `5.0`, ` 5` and `0x10` are refused rather than guessed at. */
function wholeNumberParam(max: number) {
  const message = `must be a whole number from 1 to ${max}`;
  return z
    .string()
    .regex(/^[0-9]{1,6}$/, message)
    .transform(Number)
    .pipe(z.number().int().min(1, message).max(max, message));
}

export const limitParamSchema = wholeNumberParam(MAX_LIMIT).meta({
  description: `How many items of open_positions and recent_trades to return (default ${DEFAULT_LIMIT}).`,
});

export const refreshParamSchema = z
  .enum(['true', 'false', '1', '0'], { error: 'must be true or false' })
  .transform((value) => value === 'true' || value === '1')
  .meta({
    description:
      'true forces a recompute of every section and waits (at most REFRESH_WAIT_MS) until each has been recomputed since it started. ' +
      'A forced recompute starts at most once per REFRESH_MIN_INTERVAL_MS across all clients: inside that interval the request waits for the one already started (or answers what there is, cached true).',
  });

/** `days` of the bot's performance endpoint (SPEC §11). */
export const daysParamSchema = wholeNumberParam(BOT_MAX_DAYS).meta({
  description: `Only system trades created from the start of the UTC hour holding now − days (1..${BOT_MAX_DAYS}); all when omitted.`,
});

/** The list's filters: a value outside the column's values, or longer than 20 characters, is refused. */
export const tradeFilterSchemas = {
  status: z.enum(BOT_TRADE_STATUSES).meta({ description: 'Exact status.' }),
  market_type: z.enum(BOT_MARKET_TYPES).meta({ description: 'Exact market type.' }),
  direction: z.enum(BOT_DIRECTIONS).meta({ description: 'Exact direction.' }),
  symbol: z.string().max(20).meta({ description: 'Case-insensitive substring of the symbol (at most 20 characters).' }),
} as const;

// ---- Responses ----------------------------------------------------------------------------------

const iso = z.string().meta({ format: 'date-time', description: 'ISO-8601 UTC timestamp' });

export const errorSchema = z.object({
  error: z.object({
    code: z.enum(Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]]),
    message: z.string(),
  }),
});

const sectionMetaSchema = z.object({
  epoch: z.string(),
  version: z.number().int().positive(),
  computed_at: iso,
  stale: z.boolean(),
});

export const healthSchema = z.object({ status: z.literal('ok'), uptime_seconds: z.number() });

// ---- What names the catalog's sections ------------------------------------------------------------

/** A v2 member's data: lists are cut to the reader's limit. */
function v2Member(catalog: Catalog, name: SectionName): z.ZodType {
  const schema = catalog.dataSchemas[name];
  return catalog.sections[name].limited && schema instanceof z.ZodArray ? schema.max(MAX_LIMIT) : schema;
}

/**
 * What an endpoint of a section's own answers, by its kind (routes/section-endpoints.ts): the kinds
 * that pass the data on derive it from the section's data schema; SPEC §11's list and performance
 * answer shapes of their own.
 */
const ENDPOINT_ANSWER_SCHEMAS: {
  readonly [K in EndpointAnswer]: (data: z.ZodType, section: SectionName) => z.ZodType;
} = {
  flat(data, section) {
    if (!(data instanceof z.ZodObject)) throw new TypeError(`the flat endpoint of ${section} needs object data`);
    return data.extend({ timestamp: iso.meta({ description: `The ${section} snapshot's computed_at.` }) });
  },
  data: (data) => data,
  trade_list: () => botTradeListSchema,
  performance: () => botPerformanceSchema,
};

/** The schemas that list or name sections, derived from one catalog. */
export function catalogSchemas(catalog: Catalog) {
  const { names, nameSchema, sections, v2 } = catalog;

  const sectionParamSchema = nameSchema.meta({ description: 'A section of the catalog.' });

  /** Body of the ops endpoints. Unknown keys are refused so a typo cannot widen a request to every section. */
  const recomputeBodySchema = z
    .strictObject({
      sections: z
        .array(z.enum(names, { error: (issue) => `unknown section ${JSON.stringify(issue.input)}` }))
        .min(1, 'must name at least one section (omit it for all)')
        .max(names.length * 4, 'too many sections'),
    })
    .partial()
    .meta({ description: 'Sections to recompute; all when the body or `sections` is omitted.' });

  const cacheInfoShape = Object.fromEntries(
    v2.flatMap((name) => {
      const key = sections[name].cacheInfoKey;
      return key ? [[key, z.number().int().positive()]] : [];
    }),
  );

  const dashboardV2Schema = z.object({
    ...Object.fromEntries(v2.map((name) => [name, v2Member(catalog, name)])),
    timestamp: iso.meta({ description: 'Time of this response.' }),
    cached: z
      .boolean()
      .meta({ description: 'false only when the answer waited for a forced recompute that finished.' }),
    cache_info: z.strictObject(cacheInfoShape).meta({ description: 'The configured TTL (seconds) of each section.' }),
    sections: z.strictObject(Object.fromEntries(v2.map((name) => [name, sectionMetaSchema]))),
  });

  const sectionResponse = (name: SectionName) =>
    z.object({
      section: z.literal(name),
      epoch: z.string(),
      version: z.number().int().positive(),
      computed_at: iso,
      ttl: z.number().int().positive(),
      stale: z.boolean(),
      data: catalog.dataSchemas[name],
    });

  const sectionResponseSchema = z.discriminatedUnion(
    'section',
    names.map((name) => sectionResponse(name)) as unknown as [
      ReturnType<typeof sectionResponse>,
      ...ReturnType<typeof sectionResponse>[],
    ],
  );

  const recomputeResponseSchema = z.object({
    success: z.literal(true),
    message: z.string(),
    jobs: z.array(z.object({ section: nameSchema, job_id: z.string() })),
    timestamp: iso,
  });

  const readySchema = z.object({
    status: z.enum(['ready', 'not_ready']),
    redis: z.boolean().meta({ description: 'Redis answered as of the last command or event.' }),
    reasons: z.array(z.string()),
    sections: z.record(
      nameSchema,
      z.object({
        present: z.boolean(),
        stale: z.boolean(),
        version: z.number().int().nullable(),
        age_seconds: z.number().nullable(),
      }),
    ),
  });

  /** Each endpoint of a section's own with the schema of its answer, in catalog order. */
  const endpointSchemas: readonly { endpoint: SectionEndpoint; schema: z.ZodType }[] = catalog.endpoints.map(
    ({ section, endpoint }) => ({
      endpoint,
      schema: ENDPOINT_ANSWER_SCHEMAS[endpoint.answer](catalog.dataSchemas[section], section),
    }),
  );

  return {
    sectionParamSchema,
    endpointSchemas,
    recomputeBodySchema,
    dashboardV2Schema,
    sectionResponseSchema,
    recomputeResponseSchema,
    readySchema,
    notReadySchema: readySchema.extend(errorSchema.shape),
  };
}

export type CatalogSchemas = ReturnType<typeof catalogSchemas>;
export type Readiness = z.infer<CatalogSchemas['readySchema']>;
