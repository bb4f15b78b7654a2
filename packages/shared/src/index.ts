export * from './config.ts';
export * from './errors.ts';
export * from './keys.ts';
export * from './patch.ts';
export * from './prices.ts';
export * from './protocol.ts';
export * from './sections.ts';
export * from './snapshot.ts';
