export * from './client.ts';
export * from './problem.ts';
