import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CATALOG, extendCatalog, type SectionDeclaration } from '../src/catalog.ts';
import { PATHS } from '../src/paths.ts';
import { FLAT_ENDPOINTS, SECTIONS_BY_TABLE, type SectionName, sectionLists, V2_SECTIONS } from '../src/sections.ts';
import { socketData } from '../src/snapshot.ts';

const declaration = (name: string, extra: Partial<SectionDeclaration> = {}): SectionDeclaration => ({
  name,
  title: name,
  defaultTtl: 10,
  tables: [],
  limited: false,
  inV2: false,
  onPage: false,
  schema: z.unknown(),
  ...extra,
});

describe('the section catalog', () => {
  it('derives the lists the product used to spell by hand', () => {
    expect(V2_SECTIONS).toEqual([
      'overview',
      'open_positions',
      'recent_trades',
      'performance_metrics',
      'top_performers',
      'trading_stats',
    ]);
    expect(SECTIONS_BY_TABLE.signals_paperaccount).toEqual(['overview', 'top_performers', 'lite']);
    expect(CATALOG.page).toEqual([...V2_SECTIONS, 'lite', 'pnl_history']);
  });

  it('declares endpoints of its own only at public paths', () => {
    const own = CATALOG.endpoints.map(({ section, endpoint }) => [section, endpoint.path, endpoint.answer]);
    expect(own).toEqual([
      ['lite', PATHS.lite, 'flat'],
      ['bot_trades', PATHS.botTrades, 'trade_list'],
      ['bot_performance', PATHS.botPerformance, 'performance'],
      ['bot_open_positions', PATHS.botOpenPositions, 'data'],
      ['bot_summary', PATHS.botSummary, 'data'],
    ]);
    expect(FLAT_ENDPOINTS).toEqual({ lite: '/api/public/dashboard/lite/' });
  });

  it('extends with a section that every derived list and schema then holds', () => {
    const probe = 'probe_one' as SectionName;
    const catalog = extendCatalog(
      CATALOG,
      declaration(probe, { tables: ['paper_trades'], inV2: true, schema: z.object({ n: z.number() }) }),
    );
    expect(catalog.names.at(-1)).toBe(probe);
    expect(catalog.v2.at(-1)).toBe(probe);
    expect(catalog.byTable.paper_trades).toContain(probe);
    expect(catalog.byTable.signals_paperaccount).not.toContain(probe);
    expect(catalog.has(probe)).toBe(true);
    expect(CATALOG.has(probe)).toBe(false);
    const snapshot = {
      section: probe,
      epoch: 'e',
      version: 1,
      computed_at: new Date(0).toISOString(),
      ttl: 1,
      data: {},
    };
    expect(catalog.snapshotSchema.safeParse(snapshot).success).toBe(true);
    expect(CATALOG.snapshotSchema.safeParse(snapshot).success).toBe(false);
    expect(catalog.dataSchemas[probe].safeParse({ n: 'x' }).success).toBe(false);
  });

  it('refuses a name declared twice, a shared cache_info key or endpoint path, or a name or path unfit for a path', () => {
    expect(() => extendCatalog(CATALOG, declaration('overview'))).toThrow(/overview is declared twice/);
    expect(() => extendCatalog(CATALOG, declaration('other', { inV2: true, cacheInfoKey: 'overview_ttl' }))).toThrow(
      /cache_info key overview_ttl is declared twice/,
    );
    expect(() => sectionLists([declaration('../v2')])).toThrow(/is not \[a-z\]/);
    const at = (path: string) => ({ path, answer: 'data', tag: 'dashboard', summary: path, schemaName: path }) as const;
    expect(() => extendCatalog(CATALOG, declaration('other', { endpoints: [at(PATHS.lite)] }))).toThrow(
      /endpoint \/api\/public\/dashboard\/lite is declared twice/,
    );
    for (const path of ['/x/', 'x', '/a//b', '/a/:id'])
      expect(() => sectionLists([declaration('other', { endpoints: [at(path)] })]), path).toThrow(/is not \/segment/);
  });

  it('leaves out of socket data exactly the fields a declaration names', () => {
    const hours = [{ t: 'x' }];
    const data = { total_trades: 3, hours, win_rate: 50 };
    expect(socketData('bot_performance', data)).toEqual({ total_trades: 3, win_rate: 50 });
    expect(Object.keys(socketData('bot_performance', data) as object)).toEqual(['total_trades', 'win_rate']);
    // Without the field, and for any other section, the data itself (the same object).
    const plain = { total_trades: 3 };
    expect(socketData('bot_performance', plain)).toBe(plain);
    expect(socketData('overview', data)).toBe(data);
  });
});
