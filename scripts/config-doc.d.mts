// Types of scripts/config-doc.mjs, for test/unit/docs.test.ts.
import type { leaves } from '../src/config/schema.js';

export const TABLE_START: string;
export const TABLE_END: string;
export function configTable(rows: ReturnType<typeof leaves>): string;
export function tableIn(page: string): string | undefined;
export function withTable(page: string, table: string): string;
