export * from './announce.ts';
export * from './connect.ts';
export * from './log-throttle.ts';
