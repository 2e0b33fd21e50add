// HEALTHCHECK for both images: GET /healthz on this container's own port with Node itself
// (slim images have no curl). HTTPS when the agent serves TLS (STEPGATE_TLS_CERT); the
// certificate is not checked: this is a liveness probe on loopback, not a trust decision.
import http from 'node:http';
import https from 'node:https';

const port = process.env.HEALTHCHECK_PORT ?? process.env.STEPGATE_AGENT_PORT ?? process.env.PORT;
const client = process.env.STEPGATE_TLS_CERT ? https : http;
const request = client.get(
  { host: '127.0.0.1', port, path: '/healthz', timeout: 4000, rejectUnauthorized: false },
  (response) => {
    response.resume();
    process.exit(response.statusCode === 200 ? 0 : 1);
  },
);
request.on('timeout', () => request.destroy(new Error('timed out')));
request.on('error', (error) => {
  process.stderr.write(`healthcheck: ${error.message}\n`);
  process.exit(1);
});
