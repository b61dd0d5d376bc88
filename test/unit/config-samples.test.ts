import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { loadConfig } from '../../src/config/load.js';
import { leaves } from '../../src/config/schema.js';

const root = path.resolve(import.meta.dirname, '../..');

describe('shipped configuration files and docs', () => {
  it('config/tib.conf.json (what npm start uses) loads: in memory, port 3010', () => {
    const { config, warnings } = loadConfig({ confPath: path.join(root, 'config/tib.conf.json'), env: {} });
    expect(warnings).toEqual([]);
    expect(config.BackEnd.Name).toBe('in_memory');
    expect(config.Port).toBe(3010);
  });

  it('tib.conf.example.json has every field and loads without warnings', () => {
    const file = path.join(root, 'tib.conf.example.json');
    const json = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    for (const { jsonPath } of leaves()) {
      const v = jsonPath.reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], json);
      expect([jsonPath.join('.'), v !== undefined]).toEqual([jsonPath.join('.'), true]);
    }
    expect(loadConfig({ confPath: file, env: {} }).warnings).toEqual([]);
  });

  it('the configuration reference (docs/configuration.md) documents every key and variable', () => {
    const doc = fs.readFileSync(path.join(root, 'docs/configuration.md'), 'utf8');
    for (const { jsonPath, env } of leaves()) {
      expect(doc).toContain(`\`${jsonPath.join('.')}\``);
      if (env) expect(doc).toContain(`\`${env}\``);
    }
  });
});
