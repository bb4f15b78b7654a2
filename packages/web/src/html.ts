import { age, escapeAttr } from './app/markup.ts';
import { pagePanels } from './app/panels/index.ts';

/**
 * The page's markup: a static shell with every panel in place, so the layout paints before the
 * script runs and nothing jumps when data arrives. Which panels, in what order, comes from the catalog
 * (app/panels/index.ts); each panel's markup from its module. The script fills the bodies; it never
 * builds markup from strings, so no value from the server is ever parsed as HTML. `firstPaint` (the
 * data block of first-paint.ts) goes at the end of the body, read by the script before it requests
 * anything.
 */

export function renderHtml(assets: { js: string; css: string }, firstPaint = ''): string {
  const panels = pagePanels();
  const headline = panels.filter((panel) => panel.region === 'headline');
  const board = panels.filter((panel) => panel.region === 'board');
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
    ${headline.map((panel) => panel.markup()).join('\n    ')}
    <div class="kpi-ages">${headline.map((panel) => `${panel.section} ${age(panel.section)}`).join(' · ')}</div>
  </section>
  <div class="grid">
    ${board.map((panel) => panel.markup()).join('\n    ')}
  </div>
</main>
<footer class="foot">Snapshots computed by the worker, pushed over WebSocket; HTTP polling when the socket is unavailable.</footer>
${firstPaint}
</body>
</html>
`;
}
