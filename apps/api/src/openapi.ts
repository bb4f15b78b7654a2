import {
  CATALOG,
  type Catalog,
  DEFAULT_LIMIT,
  type EndpointAnswer,
  type EndpointTag,
  PATHS,
  type SectionEndpoint,
} from '@snapboard/shared';
import { z } from 'zod';
import {
  type CatalogSchemas,
  catalogSchemas,
  daysParamSchema,
  errorSchema,
  healthSchema,
  limitParamSchema,
  refreshParamSchema,
  tradeFilterSchemas,
} from './schemas.ts';

/**
 * The OpenAPI 3.1 document, generated from the zod schemas the routes validate with (schemas.ts)
 * and the section catalog the app serves: the sections' own endpoints are listed from their
 * declarations, each operation shaped by its answer kind. Built once per app; served as prepared
 * bytes. Paths (and their answers' schemas) are grouped by tag: the dashboard's own endpoints before
 * /sections/{name}/, the paper-trading ones after it.
 */

type Json = Record<string, unknown>;

const ref = (id: string) => ({ $ref: `#/components/schemas/${id}` });

function componentSchemas(sectionSchemas: CatalogSchemas): Json {
  const registry = z.registry<{ id: string }>();
  const own = (tag: EndpointTag): [string, z.ZodType][] =>
    sectionSchemas.endpointSchemas.flatMap(({ endpoint, schema }) =>
      endpoint.tag === tag ? [[endpoint.schemaName, schema]] : [],
    );
  const named: [string, z.ZodType][] = [
    ['Error', errorSchema],
    ['DashboardV2', sectionSchemas.dashboardV2Schema],
    ...own('dashboard'),
    ['SectionSnapshot', sectionSchemas.sectionResponseSchema],
    ['RecomputeRequest', sectionSchemas.recomputeBodySchema],
    ['RecomputeQueued', sectionSchemas.recomputeResponseSchema],
    ['Health', healthSchema],
    ['Readiness', sectionSchemas.readySchema],
    ['NotReady', sectionSchemas.notReadySchema],
    ...own('paper-trading'),
  ];
  const ids = new Set<string>();
  for (const [id, schema] of named) {
    if (ids.has(id)) throw new TypeError(`OpenAPI schema ${id} is named twice`);
    ids.add(id);
    registry.add(schema, { id });
  }
  // Output shapes of responses; the one request body is described as its input (RecomputeRequest
  // has no transforms, so both are the same).
  const { schemas } = z.toJSONSchema(registry, {
    uri: (id) => `#/components/schemas/${id}`,
    io: 'output',
    unrepresentable: 'any',
  }) as { schemas: Record<string, Json> };
  for (const schema of Object.values(schemas)) {
    delete schema.$schema;
    delete schema.$id;
  }
  return schemas;
}

function param(schema: z.ZodType, io: 'input' | 'output'): Json {
  const json = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Json;
  delete json.$schema;
  return json;
}

const json = (schema: Json, description: string, headers?: Json) => ({
  description,
  ...(headers ? { headers } : {}),
  content: { 'application/json': { schema } },
});
const error = (description: string, headers?: Json) => json(ref('Error'), description, headers);

const etagHeaders = {
  ETag: {
    description: 'Weak validator of what the body says, minus the per-request timestamp.',
    schema: { type: 'string' },
  },
  'Cache-Control': { schema: { type: 'string', const: 'no-cache' } },
};
const retryAfter = { 'Retry-After': { description: 'Seconds to wait.', schema: { type: 'string' } } };
const notModified = { description: 'The If-None-Match ETag is current.', headers: etagHeaders };
const warming = error('No snapshot yet (warming_up).', retryAfter);

const limitParameter = {
  name: 'limit',
  in: 'query',
  required: false,
  description: limitParamSchema.description,
  schema: { ...param(limitParamSchema, 'output'), default: DEFAULT_LIMIT },
};
const refreshParameter = {
  name: 'refresh',
  in: 'query',
  required: false,
  description: refreshParamSchema.description,
  schema: param(refreshParamSchema, 'input'),
};
const ifNoneMatch = { name: 'If-None-Match', in: 'header', required: false, schema: { type: 'string' } };

/** OpenAPI paths keep the trailing slash of SPEC §6; both spellings are served. */
const slash = (path: string) => `${path.replace(/:(\w+)/g, '{$1}')}/`;

const opsSecurity = [{ opsToken: [] }];
const opsErrors = {
  '400': error('Bad body (invalid_body) or unknown section.'),
  '401': error('Missing or wrong token (unauthorized).'),
  '403': error('OPS_TOKEN is not set (ops_disabled).'),
  '413': error('Body larger than 16 KiB (payload_too_large).'),
  '503': error('The queue (Redis) is unavailable (queue_unavailable).', retryAfter),
};

function v2Operation(deprecated: boolean): Json {
  return {
    tags: ['dashboard'],
    summary: deprecated ? 'The old dashboard path: the v2 body at limit 20.' : 'The whole dashboard.',
    deprecated,
    parameters: deprecated ? [refreshParameter, ifNoneMatch] : [limitParameter, refreshParameter, ifNoneMatch],
    responses: {
      '200': json(
        ref('DashboardV2'),
        'Every v2 section.',
        deprecated
          ? {
              ...etagHeaders,
              Deprecation: { schema: { type: 'string', const: 'true' } },
              Link: { description: 'The successor (rel="successor-version").', schema: { type: 'string' } },
            }
          : etagHeaders,
      ),
      '304': notModified,
      '400': error('Bad limit (invalid_limit) or refresh (invalid_parameter).'),
      '503': warming,
    },
  };
}

const filterParameters = Object.entries(tradeFilterSchemas).map(([name, schema]) => ({
  name,
  in: 'query',
  required: false,
  description: schema.description,
  schema: param(schema, 'input'),
}));

/** What an endpoint's answer kind brings to its operation: its query, its client errors, its headers. */
const ENDPOINT_OPERATIONS: { readonly [K in EndpointAnswer]: { parameters: Json[]; errors: Json; headers: Json } } = {
  flat: { parameters: [], errors: {}, headers: etagHeaders },
  data: { parameters: [], errors: {}, headers: etagHeaders },
  trade_list: {
    parameters: filterParameters,
    errors: { '400': error('A filter outside its column or longer than 20 characters (invalid_filter).') },
    headers: {
      ...etagHeaders,
      'Snapboard-Window': {
        description:
          'Present (500) when a filtered answer has fewer than 100 trades while older system trades exist beyond the newest 500: it may then be incomplete.',
        schema: { type: 'string', const: '500' },
      },
    },
  },
  performance: {
    parameters: [
      {
        name: 'days',
        in: 'query',
        required: false,
        description: daysParamSchema.description,
        schema: param(daysParamSchema, 'output'),
      },
    ],
    errors: { '400': error('days is not a whole number from 1 to 365 (invalid_days).') },
    headers: etagHeaders,
  },
};

/** A GET of a section's own endpoint: prepared from its snapshot, ETag/304, CORS. */
function endpointOperation(endpoint: SectionEndpoint): Json {
  const { parameters, errors, headers } = ENDPOINT_OPERATIONS[endpoint.answer];
  return {
    tags: [endpoint.tag],
    summary: endpoint.summary,
    parameters: [...parameters, ifNoneMatch],
    responses: {
      '200': json(ref(endpoint.schemaName), endpoint.returns ?? endpoint.summary, headers),
      '304': notModified,
      ...errors,
      '503': warming,
    },
  };
}

export function buildOpenApiDocument(catalog: Catalog = CATALOG, schemas = catalogSchemas(catalog)): Json {
  const own = (tag: EndpointTag) =>
    Object.fromEntries(
      catalog.endpoints.flatMap(({ endpoint }) =>
        endpoint.tag === tag ? [[slash(endpoint.path), { get: endpointOperation(endpoint) }]] : [],
      ),
    );
  const recomputeOperation = (summary: string) => ({
    tags: ['ops'],
    summary,
    security: opsSecurity,
    requestBody: { required: false, content: { 'application/json': { schema: ref('RecomputeRequest') } } },
    responses: { '202': json(ref('RecomputeQueued'), 'Recomputes queued (coalesced per section).'), ...opsErrors },
  });
  return {
    openapi: '3.1.0',
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    info: {
      title: 'snapboard API',
      version: '1.0.0',
      description:
        'Reads versioned dashboard snapshots; never touches the database. Every path is served with and without its trailing slash. Errors are {"error":{"code","message"}}; a wrong method on a known path is 405.',
    },
    tags: [
      { name: 'dashboard' },
      { name: 'paper-trading', description: "The bot's own public API, read-only, over its system trades." },
      { name: 'ops' },
      { name: 'health' },
    ],
    paths: {
      [slash(PATHS.v2)]: { get: v2Operation(false) },
      [slash(PATHS.deprecated)]: { get: v2Operation(true) },
      ...own('dashboard'),
      [slash(PATHS.section)]: {
        get: {
          tags: ['dashboard'],
          summary: 'One section snapshot (limit applies to open_positions and recent_trades).',
          parameters: [
            { name: 'name', in: 'path', required: true, schema: param(schemas.sectionParamSchema, 'input') },
            limitParameter,
            ifNoneMatch,
          ],
          responses: {
            '200': json(ref('SectionSnapshot'), 'The snapshot.', etagHeaders),
            '304': notModified,
            '400': error('Bad limit (invalid_limit).'),
            '404': error('Not a section (unknown_section).'),
            '503': warming,
          },
        },
      },
      ...own('paper-trading'),
      [slash(PATHS.botClose)]: {
        post: {
          tags: ['paper-trading'],
          summary: "Closing a trade writes the bot's data: snapboard is read-only.",
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
          responses: { '405': error("Always (read_only): use the trading bot's own API.") },
        },
      },
      [slash(PATHS.clearCache)]: {
        post: recomputeOperation('Recompute now (snapshots are never deleted: "clear" means recompute).'),
      },
      [PATHS.recompute]: { post: recomputeOperation('Queue recomputes of the named sections (all by default).') },
      [PATHS.queues]: {
        get: {
          tags: ['ops'],
          summary:
            'Bull Board. Bearer token, or open it once with ?token=<OPS_TOKEN>: that sets an HttpOnly SameSite=Strict cookie for this path and redirects without the token.',
          security: [{ opsToken: [] }, { opsCookie: [] }, { opsQueryToken: [] }],
          responses: {
            '200': { description: 'The UI.', content: { 'text/html': { schema: { type: 'string' } } } },
            '303': { description: 'Cookie set; redirect to the same URL without ?token=.' },
            '401': error('unauthorized'),
            '403': error('ops_disabled'),
          },
        },
      },
      [PATHS.healthz]: {
        get: { tags: ['health'], summary: 'Process alive.', responses: { '200': json(ref('Health'), 'Alive.') } },
      },
      [PATHS.readyz]: {
        get: {
          tags: ['health'],
          summary: 'Redis reachable and every section has a non-stale snapshot.',
          responses: {
            '200': json(ref('Readiness'), 'Ready.'),
            '503': json(ref('NotReady'), 'Not ready; reasons listed.'),
          },
        },
      },
      [PATHS.metrics]: {
        get: {
          tags: ['health'],
          summary: 'Prometheus metrics.',
          responses: {
            '200': {
              description: 'Text exposition format.',
              content: { 'text/plain': { schema: { type: 'string' } } },
            },
          },
        },
      },
      [PATHS.openapi]: {
        get: {
          tags: ['health'],
          summary: 'This document.',
          responses: { '200': json({ type: 'object' }, 'OpenAPI 3.1.') },
        },
      },
      '/': {
        get: {
          tags: ['dashboard'],
          summary: 'The live dashboard page.',
          responses: { '200': { description: 'HTML.', content: { 'text/html': { schema: { type: 'string' } } } } },
        },
      },
    },
    components: {
      schemas: componentSchemas(schemas),
      securitySchemes: {
        opsToken: { type: 'http', scheme: 'bearer', description: 'OPS_TOKEN' },
        opsCookie: { type: 'apiKey', in: 'cookie', name: 'snapboard_ops' },
        opsQueryToken: { type: 'apiKey', in: 'query', name: 'token' },
      },
    },
    'x-sections': catalog.names,
  };
}
