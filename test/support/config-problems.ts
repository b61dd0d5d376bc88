/** The problems a ConfigError lists, from a call that must throw one (src/config/load.ts); anything else fails the test. */
import { ConfigError } from '../../src/config/load.js';

export function configProblems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}
