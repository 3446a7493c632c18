export * from './tiles.ts';
export * from './reader.ts';
export * from './compact-range.ts';
