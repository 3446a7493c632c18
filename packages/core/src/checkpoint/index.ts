export * from './note.ts';
export * from './checkpoint.ts';
export * from './trust-state.ts';
