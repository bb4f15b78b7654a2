export * from './announce.ts';
export * from './connect.ts';
