/** The tests' OpenID Provider (oidc-provider, test/support/oidc-op.ts) in a process of its own. */
import { CLIENT_ID, CLIENT_SECRET } from '../common.js';
import { startTestOp } from '../../test/support/oidc-op.js';

const redirectUris = JSON.parse(process.env.BENCH_REDIRECT_URIS ?? '[]') as string[];
const op = await startTestOp({ redirectUris, clients: [{ client_id: CLIENT_ID, client_secret: CLIENT_SECRET }] });
process.stdout.write(`READY ${JSON.stringify({ url: op.issuer, discoveryUrl: op.discoveryUrl })}\n`);
process.on('SIGTERM', () => void op.close().then(() => process.exit(0)));
