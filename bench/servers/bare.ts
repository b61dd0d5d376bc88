/** The floor for GET /health: a bare node:http server answering 200 with an empty body. */
import http from 'node:http';
import { announce, listen } from '../common.js';

const server = http.createServer((_req, res) => {
  res.writeHead(200);
  res.end();
});
await listen(server);
announce(server);
