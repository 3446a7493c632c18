export * from './pipeline.ts';
export * from './trust-inputs.ts';
export * from './gate.ts';
export * from './inputs.ts';
export * from './manifest.ts';
export * from './young-generation.ts';
