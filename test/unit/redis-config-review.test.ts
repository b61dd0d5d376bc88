/**
 * Review of issue 9's Redis settings at load time: nonsense is refused naming its key, and an address
 * written as a URL with a password does not put the password in the error.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { loadConfig } from '../../src/config/load.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'redis-config-review-'));
let n = 0;
function refusal(conf: unknown, env: NodeJS.ProcessEnv = {}): string {
  const file = path.join(dir, `tib-${n++}.conf`);
  fs.writeFileSync(file, JSON.stringify(conf));
  try {
    loadConfig({ confPath: file, env });
  } catch (err) {
    return (err as Error).message;
  }
  return 'accepted';
}
const redis = (settings: Record<string, unknown>) => ({ BackEnd: { Name: 'redis', IdentityBackendSettings: settings } });
const K = 'BackEnd.IdentityBackendSettings';

describe('Redis settings refused at load', () => {
  it('ports outside 1-65535 in Addrs and Hosts', () => {
    expect(refusal(redis({ Addrs: ['127.0.0.1:99999'] }))).toContain(`${K}.Addrs: "127.0.0.1:99999": the port must be between 1 and 65535`);
    expect(refusal(redis({ Addrs: ['127.0.0.1:0'] }))).toContain(`${K}.Addrs`);
    expect(refusal(redis({ Hosts: { 'redis.local': '70000' } }))).toContain(`${K}.Hosts: port of redis.local`);
    expect(refusal({}, { TYK_IB_BACKEND_NAME: 'redis', TYK_IB_BACKEND_IDENTITYBACKENDSETTINGS_ADDRS: 'a:6379,b:65536' })).toContain('TYK_IB_BACKEND_IDENTITYBACKENDSETTINGS_ADDRS: "b:65536"');
    expect(refusal(redis({ Addrs: ['127.0.0.1:6379', '[::1]:6380'] }))).toBe('accepted');
  });

  it('an address written as a URL with a password: refused without the password', () => {
    const message = refusal(redis({ Addrs: ['redis://default:hunter2-never-shown@redis.local:6379'] }));
    expect(message).toContain(`${K}.Addrs`);
    expect(message).toContain('redis.local:6379');
    expect(message).not.toContain('hunter2');
  });

  it('a negative or timer-overflowing Timeout, a negative MaxActive', () => {
    expect(refusal(redis({ Port: 6379, Timeout: -1 }))).toContain(`${K}.Timeout: must be between 0`);
    expect(refusal(redis({ Port: 6379, Timeout: 3_000_000 }))).toContain(`${K}.Timeout`);
    expect(refusal({}, { TYK_IB_STORAGE_STORAGETYPE: 'redis', TYK_IB_BACKEND_IDENTITYBACKENDSETTINGS_TIMEOUT: '-2' })).toContain('TYK_IB_BACKEND_IDENTITYBACKENDSETTINGS_TIMEOUT: must be between 0');
    expect(refusal(redis({ Port: 6379, MaxActive: -5 }))).toContain(`${K}.MaxActive: must not be negative`);
    expect(refusal(redis({ Port: 6379, Timeout: 3600, MaxActive: 0 }))).toBe('accepted');
  });
});
