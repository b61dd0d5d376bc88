/** POST /api/sso on a keep-alive node:http agent: the leanest client there is. */
import http from 'node:http';
import { CRED } from '../common.js';

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

export function ssoNonce(tykUrl: string, body: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = http.request(
      `${tykUrl}/api/sso`,
      { method: 'POST', agent, headers: { Authorization: CRED, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) }, timeout: 10_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          try {
            const meta = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { Meta?: unknown }).Meta;
            resolve(res.statusCode === 200 && typeof meta === 'string' ? meta : undefined);
          } catch {
            resolve(undefined);
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(undefined));
    req.end(body);
  });
}
