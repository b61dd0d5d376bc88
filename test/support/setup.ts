// Keeps the broker's console logging out of test output; tests that assert on logs use captureLogs().
import { rootLogger } from '../../src/log.js';

rootLogger.transports.forEach((t) => (t.silent = true));
