export * from './profile.ts';
export * from './signed-statement.ts';
export * from './hash-envelope.ts';
export * from './issue.ts';
export * from './evidence.ts';
