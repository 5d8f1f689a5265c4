/** The chaos suite (`npm run test:chaos`): faults injected into real services, one file at a time. */
import base from './jest.config.js';

export default {
  ...base,
  testMatch: ['<rootDir>/test/chaos/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/'],
  globalSetup: '<rootDir>/test/chaos/global-setup.mjs',
  testTimeout: 300000,
  // Scenarios pause and kill processes and measure timeouts: they must not share the two cores.
  maxWorkers: 1,
};
