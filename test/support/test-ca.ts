/**
 * A throwaway certificate authority and a server certificate for 127.0.0.1 / localhost, made with the
 * openssl CLI in a temp dir (for LDAPS/StartTLS and HTTPS tests).
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';

export interface TestCa {
  caCert: string;
  serverCert: string;
  serverKey: string;
}

const openssl = (args: string[], cwd: string) => execFileSync('openssl', args, { cwd, stdio: 'pipe' });

/** Writes ca.pem, server.pem and server-key.pem under `dir` (prefixed with `name`). */
export function makeTestCa(dir: string, name = 'test'): TestCa {
  const f = (n: string) => path.join(dir, `${name}-${n}`);
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${name} test CA`, '-keyout', f('ca-key.pem'), '-out', f('ca.pem'), '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-keyout', f('server-key.pem'), '-out', f('server.csr')], dir);
  const ext = f('server.ext');
  execFileSync('sh', ['-c', `printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\nextendedKeyUsage=serverAuth\\n' > '${ext}'`]);
  openssl(['x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca-key.pem'), '-CAcreateserial', '-days', '2', '-out', f('server.pem'), '-extfile', ext], dir);
  return { caCert: f('ca.pem'), serverCert: f('server.pem'), serverKey: f('server-key.pem') };
}
