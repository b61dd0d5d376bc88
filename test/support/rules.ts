/** Profile validation as a broker with TIB's providers only validates (src/providers/registry.ts). */
import type { ValidationRules } from '../../src/profiles/validate.js';
import { builtinProviders } from '../../src/providers/registry.js';

export const TIB_RULES: ValidationRules = { providers: builtinProviders };

/** validateProfile's context for the first profile of a file. */
export const FIRST = { index: 0, rules: TIB_RULES };
