import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'actions/*/test/**/*.test.ts', 'test/e2e/**/*.test.ts', 'test/security/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // both cores: most files wait on child processes (services, registries, databases), so two files at a time
    // take the suite from ~15 to ~10 minutes on 2 cores; vitest's default would leave one core to itself
    maxWorkers: 2,
    minWorkers: 1,
    reporters: ['default'],
  },
});
