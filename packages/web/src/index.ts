export { buildPage, bundlePage, type PageAsset, type PageBundle } from './build.ts';
