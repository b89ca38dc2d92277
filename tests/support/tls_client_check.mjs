// Clients loch did not write, against a `loch serve` with TLS: Node's https module and the npm `pg`
// client with certificate verification on (pg's `ssl: {ca}` is verify-full: the chain and the host
// name). Exits non-zero on the first failed expectation.
// Usage: node tls_client_check.mjs HTTPS_URL PG_HOST PG_PORT USER PASSWORD CA_FILE valid|expired
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import pg from 'pg';

const [url, pgHost, pgPort, user, password, caFile, expect] = process.argv.slice(2);
const ca = readFileSync(caFile, 'utf8');

function get(path, options) {
  return new Promise((resolve, reject) => {
    https.get(new URL(path, url), { ...options, agent: false }, (response) => {
      let body = '';
      response.on('data', (chunk) => { body += chunk; });
      response.on('end', () => resolve({ status: response.statusCode, body }));
    }).on('error', reject);
  });
}

async function errorOf(promise) {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail('expected the connection to be refused');
}

const pgConfig = { host: pgHost, port: Number(pgPort), user, password, database: 'lake' };

if (expect === 'valid') {
  const health = await get('/health', { ca });
  assert.equal(health.status, 200);
  // Without the CA, Node refuses the server (it is not signed by a public CA).
  const untrusted = await errorOf(get('/health', {}));
  assert.match(untrusted.code, /SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT_LOCALLY|UNABLE_TO_VERIFY_LEAF_SIGNATURE/);

  const client = new pg.Client({ ...pgConfig, ssl: { ca } });
  await client.connect();
  const { rows } = await client.query('SELECT 40 + 2 AS answer');
  assert.equal(Number(rows[0].answer), 42);
  const cipher = client.connection.stream.getCipher();
  assert.ok(['TLSv1.3', 'TLSv1.2'].includes(cipher.version), JSON.stringify(cipher));
  await client.end();

  // A client that does not ask for TLS is told why it is refused.
  const plain = await errorOf(new pg.Client({ ...pgConfig, ssl: false }).connect());
  assert.match(plain.message, /accepts only encrypted connections/);
} else {
  const expired = await errorOf(get('/health', { ca }));
  assert.equal(expired.code, 'CERT_HAS_EXPIRED');
  const pgExpired = await errorOf(new pg.Client({ ...pgConfig, ssl: { ca } }).connect());
  assert.match(pgExpired.code ?? pgExpired.message, /CERT_HAS_EXPIRED|expired/);
}
console.log(`tls client check ok (${expect})`);
