/**
 * What the checks say about a mistake, as --check, the start and `profiles validate` print it: one error for
 * a value of the wrong JSON type, and a JSON syntax error that says what the parser expected, and where.
 */
import { describe, expect, it } from '@jest/globals';
import { jsonSyntaxProblem } from '../../src/config/json-syntax.js';
import { formatProblem, validateProfileList } from '../../src/profiles/validate.js';
import { TIB_RULES } from '../support/rules.js';

const ldap = (providerConfig: Record<string, unknown>) => ({
  ID: 'ldap-dev',
  ActionType: 'GenerateOrLoginUserProfile',
  ProviderName: 'ADProvider',
  ReturnURL: 'http://dash.example.com/tap',
  ProviderConfig: { LDAPServer: 'ldap.example.com', LDAPPort: '389', LDAPUserDN: 'uid=*USERNAME*,ou=people,dc=example,dc=org', ...providerConfig },
});

const problems = (raw: unknown) => validateProfileList([raw], 'profiles.json', TIB_RULES).problems.map(formatProblem);

describe('a value of the wrong JSON type', () => {
  it('"LDAPPort": 389 (TIB takes a string) is one error that says to quote it, not also "must be a port number"', () => {
    expect(problems(ldap({ LDAPPort: 389 }))).toEqual([
      `profiles.json: profile "ldap-dev" (#1): ProviderConfig.LDAPPort: must be a string, got number (put the value in double quotes: TIB's profile struct holds a string here)`,
    ]);
  });

  it('a string where a number is expected is one error too', () => {
    expect(problems(ldap({ LDAPPoolSize: '10' }))).toEqual(['profiles.json: profile "ldap-dev" (#1): ProviderConfig.LDAPPoolSize: must be an integer, got string']);
  });

  it('a right-typed value still gets its own checks', () => {
    expect(problems(ldap({ LDAPPort: '70000' }))).toEqual(['profiles.json: profile "ldap-dev" (#1): ProviderConfig.LDAPPort: must be a port number as a string, e.g. "389"']);
  });
});

describe('a JSON syntax error', () => {
  const parse = (text: string) => {
    try {
      JSON.parse(text);
    } catch (err) {
      return jsonSyntaxProblem(text, err);
    }
    throw new Error('parsed');
  };

  it.each([
    ['{\n  "Port": 1\n  "Secret": "x"\n}', `invalid JSON at line 3 column 3: expected ',' or '}' after property value`],
    ['[{"ID": "a"},]', 'invalid JSON at line 1 column 14: expected a string in double quotes, a number'],
    ['{"ID": "a",}', 'invalid JSON at line 1 column 12: expected double-quoted property name'],
    ['{"ID" "a"}', `invalid JSON at line 1 column 7: expected ':' after property name`],
    ['[1 2]', `invalid JSON at line 1 column 4: expected ',' or ']' after array element`],
    ['[{"ID": "a}]', 'invalid JSON at line 1 column 13: unterminated string'],
    ['{"a": 1} x', 'invalid JSON at line 1 column 10: unexpected text after the end of the JSON value'],
    ['[{"ID": ', 'invalid JSON at line 1 column 9: the file ends too early (a missing "]", "}" or closing quote)'],
  ])('%j says what the parser expected and where', (text, expected) => {
    expect(parse(text)).toContain(expected);
  });

  it('an unexpected token is explained by its usual causes, never quoted (it may be a secret)', () => {
    const text = '{\n  "Secret": hunter2-admin-secret\n}';
    const message = parse(text);
    expect(message).toBe(
      'invalid JSON at line 2 column 13: expected a string in double quotes, a number, true, false, null, an object or an array (JSON has no comments, single quotes or trailing commas)',
    );
    expect(message).not.toMatch(/hunter|'h'/);
  });
});
