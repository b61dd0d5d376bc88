import { describe, expect, it } from '@jest/globals';
import { parseArgs, UsageError } from '../../src/cli-args.js';

describe('command line (Go flag syntax, as TIB)', () => {
  it('defaults to tib.conf and ./profiles.json', () => {
    expect(parseArgs([])).toEqual({ confPath: 'tib.conf', profilesPath: './profiles.json', check: false, strict: false, help: false, version: false });
  });

  it.each([
    [['-c', 'a.conf']],
    [['-c=a.conf']],
    [['--c', 'a.conf']],
    [['-conf', 'a.conf']],
    [['--conf', 'a.conf']],
    [['--conf=a.conf']],
  ])('%j sets the config path', (argv) => {
    expect(parseArgs(argv).confPath).toBe('a.conf');
  });

  it('reads -p and --check together', () => {
    expect(parseArgs(['--check', '-c', '/opt/tib.conf', '-p=/opt/profiles.json'])).toMatchObject({
      confPath: '/opt/tib.conf',
      profilesPath: '/opt/profiles.json',
      check: true,
    });
  });

  it('refuses unknown flags and missing values', () => {
    expect(() => parseArgs(['--bogus'])).toThrow(UsageError);
    expect(() => parseArgs(['-p'])).toThrow('flag needs an argument: -p');
  });
});
