export { buildPage, bundlePage, type PageAsset, type PageBundle, type PreparedPage } from './build.ts';
export { type FirstPaint, type FirstPaintSnapshot, scriptSafeJson } from './first-paint.ts';
