import { PAGE_SECTIONS, SECTION_NAMES, SECTIONS } from '@snapboard/shared/sections';
import { describe, expect, it } from 'vitest';
import { pagePanels } from '../src/app/panels/index.ts';
import { scriptSafeJson } from '../src/first-paint.ts';
import { renderHtml } from '../src/html.ts';

/** The page's layout comes from the catalog, one panel module per section it shows. */

describe('happy: the layout is the catalog’s', () => {
  it('has one panel per section the catalog puts on the page, in catalog order, and none other', () => {
    expect(PAGE_SECTIONS.length).toBeGreaterThan(0);
    expect(pagePanels().map((panel) => panel.section)).toEqual([...PAGE_SECTIONS]);
    const html = renderHtml({ js: '/assets/app.js', css: '/assets/app.css' });
    const order = [...html.matchAll(/<(?:section|div) class="(?:card|kpi-group) [^"]*" data-section="([a-z_]+)"/g)].map(
      (match) => match[1],
    );
    // Headline panels first (in catalog order), then the board's (in catalog order).
    const headline = pagePanels().filter((panel) => panel.region === 'headline');
    const board = pagePanels().filter((panel) => panel.region === 'board');
    expect(order).toEqual([...headline, ...board].map((panel) => panel.section));
    for (const name of SECTION_NAMES.filter((n) => !SECTIONS[n].onPage)) {
      expect(html).not.toContain(`data-section="${name}"`);
    }
  });
});

describe('error: a catalog and page that disagree stop the build', () => {
  it('names a page section without a panel module, and a panel the catalog keeps off the page', () => {
    expect(() => pagePanels([...PAGE_SECTIONS, 'bot_trades'])).toThrow(/no panel module shows it/);
    expect(() => pagePanels([...PAGE_SECTIONS, 'bot_trades'])).toThrow(/bot_trades/);
    expect(() => pagePanels(PAGE_SECTIONS.filter((name) => name !== 'lite'))).toThrow(
      /panels for sections the catalog keeps off the page: lite/,
    );
  });
});

describe('security: JSON in a script data block', () => {
  it('escapes what could end the block or confuse a parser, and reads back unchanged', () => {
    const value = { s: '</script><!--<script>&\u2028\u2029>', n: [1, 'é'] };
    const json = scriptSafeJson(value);
    expect(json).not.toMatch(/[<>&\u2028\u2029]/);
    expect(JSON.parse(json)).toEqual(value);
  });
});
