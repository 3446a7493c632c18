export * from './errors.ts';
export * as cbor from './cbor.ts';
export * from './cose/index.ts';
export * from './statement/index.ts';
export * from './diagnostic.ts';
