// A proxy in front of an S3 server for loch's tests. It is a real, independent check, not a fake S3:
//   - it verifies every request's SigV4 signature with @smithy/signature-v4 (the AWS SDK's signer) and
//     the payload hash against the body, answering 403 SignatureDoesNotMatch / XAmzContentSHA256Mismatch
//     when they are wrong (s3rver itself checks neither);
//   - it injects faults on demand: 503 SlowDown answers, dropped connections (before or after the
//     request reached the server), and delays;
//   - it counts requests, so tests can assert how many GETs a query made.
// Control endpoints: GET /__proxy/stats, POST /__proxy/reset, POST /__proxy/faults (JSON body).
//
// Usage: node s3_proxy.mjs --port P --target http://127.0.0.1:T --region R --key AK --secret SK
import http from 'node:http';
import crypto from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { HttpRequest } from '@smithy/protocol-http';
import { Sha256 } from '@aws-crypto/sha256-js';

const args = Object.fromEntries(process.argv.slice(2).reduce((pairs, arg, i, all) =>
  arg.startsWith('--') ? [...pairs, [arg.slice(2), all[i + 1]]] : pairs, []));
const target = new URL(args.target);
const signer = new SignatureV4({
  service: 's3', region: args.region, sha256: Sha256, uriEscapePath: false, applyChecksum: false,
  credentials: { accessKeyId: args.key, secretAccessKey: args.secret },
});

// `match`, if set, is a regular expression on "METHOD /path?query": only matching requests get faults.
let faults = { fail_rate: 0, drop_before_rate: 0, drop_after_rate: 0, delay_ms: 0, seed: 1, match: '',
               fail_status: 503, fail_code: 'SlowDown' };
let stats;
function resetStats() {
  stats = { requests: 0, verified: 0, rejected: 0, failed: 0, dropped: 0, by_method: {}, gets_by_key: {},
            sse_by_key: {} };
}
resetStats();
// mulberry32: a small seeded generator so fault patterns are reproducible.
let rngState = 1;
function random() {
  rngState |= 0; rngState = (rngState + 0x6D2B79F5) | 0;
  let t = Math.imul(rngState ^ (rngState >>> 15), 1 | rngState);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

function s3Error(res, status, code, message) {
  res.writeHead(status, { 'content-type': 'application/xml' });
  res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`);
}

async function verify(req, body) {
  const auth = req.headers.authorization || '';
  const match = /^AWS4-HMAC-SHA256 Credential=([^,]+), ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]+)$/.exec(auth);
  if (!match) return 'missing or malformed Authorization header';
  const signedHeaders = match[2].split(';');
  const declaredHash = req.headers['x-amz-content-sha256'];
  if (!declaredHash) return 'missing x-amz-content-sha256';
  // As S3: every x-amz-* header must be signed.
  for (const name of Object.keys(req.headers)) {
    if (name.startsWith('x-amz-') && !signedHeaders.includes(name)) return `${name} is not signed`;
  }
  if (declaredHash !== 'UNSIGNED-PAYLOAD' &&
      declaredHash !== crypto.createHash('sha256').update(body).digest('hex')) {
    return 'x-amz-content-sha256 does not match the body';
  }
  const url = new URL(req.url, `http://${req.headers.host}`);
  const query = {};
  for (const [name, value] of url.searchParams) query[name] = value;
  const headers = {};
  for (const name of signedHeaders) headers[name] = req.headers[name];
  const amzDate = req.headers['x-amz-date'];
  const signingDate = new Date(`${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T` +
                               `${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`);
  const rawPath = req.url.split('?')[0];
  const request = new HttpRequest({ method: req.method, protocol: 'http:', hostname: url.hostname,
                                    port: Number(url.port), path: rawPath, query, headers });
  const signed = await signer.sign(request, { signingDate, signableHeaders: new Set(signedHeaders) });
  const expected = /Signature=([0-9a-f]+)/.exec(signed.headers.authorization)[1];
  return expected === match[3] ? null : `signature mismatch (expected ${expected}, got ${match[3]})`;
}

function forward(req, body, res, dropAfter) {
  const upstream = http.request({ host: target.hostname, port: target.port, method: req.method,
                                  path: req.url, headers: req.headers }, (answer) => {
    if (dropAfter) { answer.resume(); res.socket.destroy(); return; }
    res.writeHead(answer.statusCode, answer.headers);
    answer.pipe(res);
  });
  upstream.on('error', (error) => s3Error(res, 502, 'BadGateway', String(error)));
  upstream.end(body);
}

http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', async () => {
    const body = Buffer.concat(chunks);
    if (req.method === 'DELETE' && req.url.includes('uploadId=')) stats.aborts = (stats.aborts || 0) + 1;
    if (req.url.startsWith('/__proxy/')) {
      if (req.url === '/__proxy/stats') { res.end(JSON.stringify(stats)); return; }
      if (req.url === '/__proxy/reset') { resetStats(); res.end('{}'); return; }
      if (req.url === '/__proxy/faults') {
        faults = { ...faults, ...JSON.parse(body.toString() || '{}') }; rngState = faults.seed; res.end('{}'); return;
      }
    }
    stats.requests++;
    stats.by_method[req.method] = (stats.by_method[req.method] || 0) + 1;
    if (req.method === 'GET' && !req.url.includes('list-type')) {
      const path = decodeURIComponent(req.url.split('?')[0]);
      stats.gets_by_key[path] = (stats.gets_by_key[path] || 0) + 1;
    }
    // Server-side encryption as S3 sees it: on each object written whole or started in parts.
    const writesObject = (req.method === 'PUT' && !req.url.includes('partNumber=')) ||
                         (req.method === 'POST' && /[?&]uploads(=|&|$)/.test(req.url));
    if (writesObject) {
      const path = decodeURIComponent(req.url.split('?')[0]);
      const sse = req.headers['x-amz-server-side-encryption'];
      const keyId = req.headers['x-amz-server-side-encryption-aws-kms-key-id'];
      stats.sse_by_key[path] = sse ? (keyId ? `${sse}:${keyId}` : sse) : 'none';
    }
    const problem = await verify(req, body).catch((error) => `verifier error: ${error}`);
    if (problem) {
      stats.rejected++;
      console.error(`rejected ${req.method} ${req.url}: ${problem}`);
      s3Error(res, 403, 'SignatureDoesNotMatch', problem);
      return;
    }
    stats.verified++;
    if (faults.match && !new RegExp(faults.match).test(`${req.method} ${req.url}`)) {
      forward(req, body, res, false);
      return;
    }
    if (faults.delay_ms > 0) await new Promise((resolve) => setTimeout(resolve, faults.delay_ms));
    const roll = random();
    if (roll < faults.fail_rate) { stats.failed++; s3Error(res, faults.fail_status, faults.fail_code, 'injected by the test proxy'); return; }
    if (roll < faults.fail_rate + faults.drop_before_rate) { stats.dropped++; res.socket.destroy(); return; }
    const dropAfter = roll < faults.fail_rate + faults.drop_before_rate + faults.drop_after_rate;
    if (dropAfter) stats.dropped++;
    forward(req, body, res, dropAfter);
  });
}).listen(Number(args.port), '127.0.0.1', () => console.log(`s3 proxy on ${args.port} -> ${args.target}`));
