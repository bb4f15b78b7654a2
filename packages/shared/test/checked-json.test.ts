import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { checkedJsonReusingItems } from '../src/checked-json.ts';
import { sectionDataSchemas } from '../src/section-data.ts';

const item = z.object({ id: z.number(), name: z.string().nullable(), tags: z.array(z.string()) });
const list = z.array(item);
const section = z.object({ total: z.number(), note: z.string().optional(), rows: z.array(item) });

/** Items in another key order and with a key no schema knows: what parse drops and reorders. */
const rows = () => [
  { tags: ['a'], name: 'zoë 🚀', id: 1, extra: true },
  { id: 2, name: null, tags: [] },
];

describe('checked JSON reusing list items', () => {
  it('happy: is JSON.stringify of the parsed data, for a list and for an object ending in one', () => {
    for (const [schema, data] of [
      [list, rows()],
      [section, { rows: rows(), total: 3, unknown: 'dropped' }],
      [section, { total: 3, note: 'n', rows: [] }],
    ] as const) {
      const result = checkedJsonReusingItems(schema, data, new WeakMap());
      expect(result).toEqual({ ok: true, json: JSON.stringify((schema as z.ZodType).parse(data)) });
    }
  });

  it('happy: an item seen before is not checked or serialized again', () => {
    const items = new WeakMap<object, string>();
    const data = rows();
    checkedJsonReusingItems(list, data, items);
    // Kept by identity: a kept text (here a marker) is what the next call writes for that object.
    items.set(data[1] as object, '"kept"');
    expect(checkedJsonReusingItems(list, data, items)).toEqual({
      ok: true,
      json: `[${JSON.stringify(item.parse(data[0]))},"kept"]`,
    });
  });

  it('error: a new item that breaks the schema is reported, and nothing is kept for it', () => {
    const items = new WeakMap<object, string>();
    const bad = { id: 'x', name: null, tags: [] };
    const result = checkedJsonReusingItems(list, [bad], items);
    expect(result?.ok).toBe(false);
    expect(items.has(bad)).toBe(false);
    expect(checkedJsonReusingItems(section, { total: 'x', rows: [] }, items)?.ok).toBe(false);
  });

  it('edge: other shapes are left to the whole-data check', () => {
    for (const schema of [
      z.object({ rows: z.array(item), total: z.number() }),
      z.array(item).max(3),
      z.looseObject({ total: z.number(), rows: z.array(item) }),
      z.object({ rows: z.array(item) }),
    ]) {
      expect(checkedJsonReusingItems(schema, { total: 1, rows: [] }, new WeakMap())).toBeUndefined();
    }
    expect(checkedJsonReusingItems(list, { not: 'a list' }, new WeakMap())).toBeUndefined();
  });

  it('happy: the bot sections whose items are kept have a shape it takes', () => {
    expect(checkedJsonReusingItems(sectionDataSchemas.bot_trades, [], new WeakMap())).toEqual({ ok: true, json: '[]' });
    // Recognized (the rest of the object is checked, and here found wanting), not left to the caller.
    expect(checkedJsonReusingItems(sectionDataSchemas.bot_performance, { hours: [] }, new WeakMap())?.ok).toBe(false);
  });
});
