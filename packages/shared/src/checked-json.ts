import { z } from 'zod';

/**
 * The JSON of schema-checked data, `JSON.stringify(schema.parse(data))` to the byte, with the checked
 * JSON of each list item kept between calls: for sections whose list items are objects kept from one
 * compute to the next and never changed (the bot_* sections' row readers, decision 0020), a close
 * changes one trade of 500 and one hour of ~1,040, and checking and serializing the rest again was most
 * of such a set's own JavaScript (decision 0021).
 *
 * The list is the data itself when the schema is an array, or the object's last field when that is an
 * array (an object schema writes its keys in its shape's order, so that field is written last). Any
 * other shape, an array with checks of its own (min, max) or an object that keeps unknown keys, returns
 * undefined: the caller checks the whole data as before.
 */

interface ListShape {
  element: z.ZodType;
  /** The object's list field, and the schema of the rest of the object; none for a top-level array. */
  field?: string;
  rest?: z.ZodType;
}

const shapes = new WeakMap<z.ZodType, ListShape | null>();

function plainArray(schema: unknown): schema is z.ZodArray<z.ZodType> {
  return schema instanceof z.ZodArray && !schema.def.checks?.length;
}

function listShape(schema: z.ZodType): ListShape | undefined {
  let shape = shapes.get(schema);
  if (shape === undefined) {
    shape = null;
    if (plainArray(schema)) shape = { element: schema.element };
    else if (schema instanceof z.ZodObject && schema.def.catchall === undefined && !schema.def.checks?.length) {
      const keys = Object.keys(schema.shape);
      const field = keys[keys.length - 1];
      const list = field === undefined ? undefined : schema.shape[field];
      if (field !== undefined && keys.length > 1 && plainArray(list)) {
        shape = { element: list.element, field, rest: schema.omit({ [field]: true } as never) };
      }
    }
    shapes.set(schema, shape);
  }
  return shape ?? undefined;
}

export type CheckedJson = { ok: true; json: string } | { ok: false; error: string };

function firstIssue(error: z.ZodError): string {
  return error.issues[0]?.message ?? 'invalid';
}

/** `data` checked by `schema` as JSON, each list item's checked JSON taken from or kept in `items`. */
export function checkedJsonReusingItems(
  schema: z.ZodType,
  data: unknown,
  items: WeakMap<object, string>,
): CheckedJson | undefined {
  const shape = listShape(schema);
  if (!shape) return undefined;
  const list = shape.field === undefined ? data : (data as Record<string, unknown> | null)?.[shape.field];
  if (!Array.isArray(list)) return undefined;
  const texts: string[] = new Array(list.length);
  for (let i = 0; i < list.length; i++) {
    const item: unknown = list[i];
    const kept = typeof item === 'object' && item !== null ? items.get(item) : undefined;
    if (kept !== undefined) {
      texts[i] = kept;
      continue;
    }
    const checked = shape.element.safeParse(item);
    if (!checked.success) return { ok: false, error: firstIssue(checked.error) };
    const text = JSON.stringify(checked.data);
    if (typeof item === 'object' && item !== null) items.set(item, text);
    texts[i] = text;
  }
  const listJson = `[${texts.join(',')}]`;
  if (!shape.rest) return { ok: true, json: listJson };
  const rest = shape.rest.safeParse(data);
  if (!rest.success) return { ok: false, error: firstIssue(rest.error) };
  const restJson = JSON.stringify(rest.data);
  const head = restJson === '{}' ? '{' : `${restJson.slice(0, -1)},`;
  return { ok: true, json: `${head}${JSON.stringify(shape.field)}:${listJson}}` };
}
