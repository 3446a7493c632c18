export * from './note.ts';
export * from './checkpoint.ts';
