export * from './errors.ts';
export * as cbor from './cbor.ts';
export * from './cose/index.ts';
export * from './statement/index.ts';
export * from './diagnostic.ts';
export * from './scrapi/index.ts';
export * from './identity/index.ts';
export * from './merkle/index.ts';
export * from './receipt/index.ts';
