/** ProxyProvider's ProviderConfig (spec 4.3). The misspelt "Exrtact" key is TIB's and is kept. */
import type { FieldReader } from '../profiles/fields.js';

export interface ProxyConfig {
  TargetHost: string;
  OKCode: number;
  OKResponse: string;
  OKRegex: string;
  ResponseIsJson: boolean;
  AccessTokenField: string;
  UsernameField: string;
  ExrtactUserNameFromBasicAuthHeader: boolean;
}

export function readProxyConfig(r: FieldReader): ProxyConfig {
  const c: ProxyConfig = {
    TargetHost: r.url('TargetHost', true),
    OKCode: r.int('OKCode'),
    OKResponse: r.string('OKResponse'),
    OKRegex: r.string('OKRegex'),
    ResponseIsJson: r.bool('ResponseIsJson'),
    AccessTokenField: r.string('AccessTokenField'),
    UsernameField: r.string('UsernameField'),
    ExrtactUserNameFromBasicAuthHeader: r.bool('ExrtactUserNameFromBasicAuthHeader'),
  };
  if (c.OKRegex !== '') {
    try {
      new RegExp(c.OKRegex);
    } catch {
      r.error('OKRegex', 'is not a valid regular expression');
    }
  }
  return c;
}
