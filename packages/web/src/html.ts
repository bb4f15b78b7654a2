import { SECTIONS, type SectionName } from '@snapboard/shared/sections';

/**
 * The page's markup: a static shell with every card in place, so the layout paints before the
 * script runs and nothing jumps when data arrives. The script fills the bodies; it never builds
 * markup from strings, so no value from the server is ever parsed as HTML.
 */

const escapeAttr = (value: string) => value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

const age = (section: SectionName) => `<span class="age" data-age-for="${section}" title="">—</span>`;

function card(section: SectionName, body: string, options: { area: string; note?: string }): string {
  return `<section class="card area-${options.area}" data-section="${section}" aria-busy="true">
  <header class="card-head"><h2>${SECTIONS[section].title}</h2>${options.note ?? ''}${age(section)}</header>
  <div class="card-body">${body}</div>
</section>`;
}

function kpi(id: string, label: string, section: SectionName): string {
  return `<div class="kpi" id="kpi-${id}" data-from="${section}"><div class="kpi-label">${label}</div><div class="kpi-value">—</div><div class="kpi-sub"></div></div>`;
}

const table = (id: string, columns: Array<[label: string, className?: string]>) =>
  `<div class="table-wrap"><table id="${id}"><thead><tr>${columns
    .map(([label, className]) => `<th${className ? ` class="${className}"` : ''}>${label}</th>`)
    .join('')}</tr></thead><tbody></tbody></table><p class="empty" hidden></p></div>`;

export function renderHtml(assets: { js: string; css: string }): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="dark">
<meta name="theme-color" content="#0b0e14">
<title>snapboard · live paper trading</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${escapeAttr(assets.css)}">
<script defer src="${escapeAttr(assets.js)}"></script>
</head>
<body>
<header class="top">
  <div class="brand"><span class="logo" aria-hidden="true"></span><span class="name">snapboard</span><span class="tag">paper trading</span></div>
  <div class="conn" id="conn" data-state="connecting" role="status" aria-live="polite" title="">
    <span class="dot" aria-hidden="true"></span><span class="conn-label">Connecting</span>
  </div>
  <div class="clock" id="clock" aria-hidden="true"></div>
</header>
<div class="banner" id="banner" role="alert" hidden></div>
<main class="board">
  <section class="kpis" aria-label="Headline figures">
    ${kpi('total-pnl', 'Total P&amp;L', 'lite')}
    ${kpi('daily-pnl', '24h realized P&amp;L', 'lite')}
    ${kpi('win-rate', 'Win rate', 'lite')}
    ${kpi('active-trades', 'Open trades', 'lite')}
    ${kpi('equity', 'Total equity', 'overview')}
    ${kpi('balance', 'Total balance', 'overview')}
    ${kpi('accounts', 'Accounts', 'overview')}
    ${kpi('trades', 'Closed trades', 'overview')}
    <div class="kpi-ages">lite ${age('lite')} · overview ${age('overview')}</div>
  </section>
  <div class="grid">
    ${card('pnl_history', '<div class="chart" id="chart"></div>', {
      area: 'chart',
      note: '<span class="chart-summary" id="chart-summary"></span>',
    })}
    ${card('performance_metrics', '<dl class="metrics" id="metrics"></dl>', { area: 'perf' })}
    ${card(
      'open_positions',
      table('positions', [
        ['Symbol'],
        ['Side'],
        ['Entry', 'num opt-3'],
        ['Mark', 'num'],
        ['Size', 'num opt-1'],
        ['Unrealized', 'num'],
        ['Trader', 'opt-1'],
        ['Opened', 'num opt-2'],
      ]),
      { area: 'pos', note: '<span class="count" id="positions-count"></span>' },
    )}
    ${card(
      'recent_trades',
      table('trades', [
        ['Symbol'],
        ['Side'],
        ['Entry', 'num opt-1'],
        ['Exit', 'num'],
        ['P&amp;L', 'num'],
        ['Result', 'opt-2'],
        ['Held', 'num opt-1'],
        ['Closed', 'num'],
      ]),
      { area: 'trades' },
    )}
    ${card('top_performers', '<ol class="leaders" id="leaders"></ol><p class="empty" hidden></p>', { area: 'top' })}
    ${card('trading_stats', table('stats', [['Trades'], ['24h', 'num'], ['7d', 'num'], ['All time', 'num']]), {
      area: 'stats',
    })}
  </div>
</main>
<footer class="foot">Snapshots computed by the worker, pushed over WebSocket; HTTP polling when the socket is unavailable.</footer>
</body>
</html>
`;
}
