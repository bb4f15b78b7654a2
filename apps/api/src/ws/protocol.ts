import {
  CATALOG,
  type Catalog,
  type ClientMessage,
  clientMessageSchema,
  DEFAULT_LIMIT,
  MAX_LIMIT,
  type ResumeVersions,
  type SectionName,
  type ServerMessage,
  type WsErrorCode,
} from '@snapboard/shared';

/**
 * Incoming frames → validated requests, or the `error` frame to answer with. Nothing a client sends
 * throws out of here: every rejection becomes one of the shared WS_ERROR_CODES and the socket stays.
 */

export type ClientRequest =
  | {
      type: 'subscribe';
      sections: SectionName[];
      limit: number;
      versions: ResumeVersions;
      patches: boolean;
      batches: boolean;
      fields: boolean;
    }
  | { type: 'unsubscribe'; sections: SectionName[] }
  | { type: 'ping'; id: unknown };

export type ParseResult = { ok: true; request: ClientRequest } | { ok: false; code: WsErrorCode; message: string };

const KNOWN_TYPES = new Set(clientMessageSchema.options.map((option) => option.shape.type.value));

const fail = (code: WsErrorCode, message: string): ParseResult => ({ ok: false, code, message });

/** Echo at most a little of what the client sent, so an error frame is never bigger than its cause. */
function quote(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
}

/** `catalog` is the sections the server holds (its replica's): others are unknown_section. */
export function parseClientFrame(
  data: Buffer,
  isBinary: boolean,
  catalog: Pick<Catalog, 'has'> = CATALOG,
): ParseResult {
  if (isBinary) return fail('invalid_message', 'binary frames are not supported; send JSON text frames');
  let value: unknown;
  try {
    value = JSON.parse(data.toString('utf8'));
  } catch {
    return fail('invalid_json', 'frame is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return fail('invalid_message', 'a message is a JSON object with a "type"');
  }
  const type = (value as { type?: unknown }).type;
  if (typeof type !== 'string') return fail('invalid_message', 'missing "type"');
  if (!KNOWN_TYPES.has(type as ClientMessage['type'])) {
    return fail('unknown_type', `unknown type ${quote(type)}; expected one of ${[...KNOWN_TYPES].join(', ')}`);
  }

  const parsed = clientMessageSchema.safeParse(value);
  if (!parsed.success) {
    if (parsed.error.issues.some((issue) => issue.path[0] === 'limit')) {
      return fail('invalid_limit', `limit must be an integer from 1 to ${MAX_LIMIT}`);
    }
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? issue.path.join('.') : type;
    return fail('invalid_message', `${where}: ${issue?.message ?? 'invalid'}`);
  }
  const message = parsed.data;
  if (message.type === 'ping') return { ok: true, request: { type: 'ping', id: message.id ?? null } };

  const unknown = message.sections.filter((name) => !catalog.has(name));
  if (unknown.length > 0) {
    return fail(
      'unknown_section',
      `unknown section${unknown.length > 1 ? 's' : ''} ${unknown.slice(0, 3).map(quote).join(', ')}`,
    );
  }
  const sections = [...new Set(message.sections as SectionName[])];
  if (message.type === 'unsubscribe') return { ok: true, request: { type: 'unsubscribe', sections } };

  // Resume versions for sections not named in this subscribe (or not in the catalog) are ignored.
  const versions: ResumeVersions = {};
  for (const section of sections) {
    const given = message.versions?.[section];
    if (given) versions[section] = given;
  }
  return {
    ok: true,
    request: {
      type: 'subscribe',
      sections,
      limit: message.limit ?? DEFAULT_LIMIT,
      versions,
      patches: message.patches ?? false,
      batches: message.batches ?? false,
      fields: message.fields ?? false,
    },
  };
}

export function encode(message: ServerMessage): string {
  return JSON.stringify(message);
}
