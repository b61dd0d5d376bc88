/**
 * The tests' recording Tyk stub (test/support/tyk-stub.ts) in a process of its own. It records every call,
 * so its records are dropped every second: a long run must not grow it.
 */
import { ADMIN_SECRET, CRED } from '../common.js';
import { startTykStub } from '../../test/support/tyk-stub.js';

const stub = await startTykStub({ dashboardCredential: CRED, adminSecret: ADMIN_SECRET });
setInterval(() => stub.reset(), 1000).unref();
process.stdout.write(`READY ${JSON.stringify({ url: stub.url, endpoint: stub.endpoint, port: stub.port })}\n`);
process.on('SIGTERM', () => void stub.close().then(() => process.exit(0)));
