// Randomized requests signed by the AWS SDK's own SigV4 signer (@smithy/signature-v4), for loch's
// SigV4 interop test (tests/sigv4_interop_test.cc): loch's VerifySigV4 must accept each one, and
// SignSigV4 must reproduce its Authorization wherever the SDK signed every header sent.
//
// Usage: node sigv4_random_requests.mjs SEED COUNT
// Prints COUNT lines of JSON (NDJSON), the same for the same SEED (mulberry32), each:
//   {"service": "firehose" | "athena", "method": "GET" | "POST" | "PUT" | "DELETE",
//    "path_as_sent": the request-line path, percent-encoded, without the query,
//    "query": [[name, value], ...] decoded (repeated names, empty values, names differing only in
//             case, names that are prefixes of others),
//    "headers": [[name, value], ...] as sent, X-Amz-Date and Authorization (and, as the SDK adds
//               them, x-amz-content-sha256 and x-amz-security-token) included; a repeated header is
//               several entries in the order sent,
//    "body": the body as a string (sent as UTF-8),
//    "authorization": the Authorization value}
// Every request is signed as AKIDEXAMPLE / wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY, region
// us-east-1, at 2015-08-30T12:36:00Z.
//
// The SDK signs HttpRequest.path as given and URI-encodes it once more itself (uriEscapePath, on
// for every service but S3), after dropping empty and "." segments and resolving "..". So
// path_as_sent is exactly the HttpRequest.path given to the SDK, built as an AWS SDK builds a path:
// every segment URI-encoded (RFC 3986 unreserved characters kept, every other UTF-8 byte %XX,
// upper-case), plus literal "." / ".." segments and empty segments ("//").
//
// Each request is checked here before it is printed, and the script exits non-zero on any doubt:
//   - the SDK's canonical path equals AWS's documented rule for non-S3 services (RFC 3986
//     remove_dot_segments, then redundant slashes removed, then each segment URI-encoded once more);
//     the path shapes on which the two differ are not generated (see below);
//   - an independent SigV4 implementation (node:crypto, written from AWS's documentation, working
//     on the request as sent: repeated headers joined with ',' after trimming each line) gives the
//     SDK's signature, with the SignedHeaders the SDK chose;
//   - the SDK signs the request as sent again (repeated headers merged, the signer's own headers
//     removed) to the same Authorization;
//   - the SDK's presigned (query-signed) form of the same request verifies with the independent
//     implementation too.
//
// Shapes left out, because the SDK and AWS's documented rule (or HTTP) differ on them:
//   - a path whose last segment is a bare "." or ".." with something left before it ("/a/.",
//     "/a/b/.."): RFC 3986 keeps the trailing slash ("/a/"), the SDK (and botocore) drops it ("/a");
//   - a ".." after an empty segment (conservatively: anywhere after a "//"), as RFC 3986 may resolve
//     it against the empty segment ("/a//../b" is "/a/b" by RFC 3986 then slash-collapsing, "/b" by
//     the SDK, which drops empty segments first);
//   - literal sub-delimiters ("$&'()*+,;=:@!") and lower-case %xx escapes in the path as sent: AWS's
//     rule double-encodes the path as a client encodes it, and an SDK never sends these unencoded;
//   - the query names X-Amz-Signature (the SDK leaves it out of the canonical query, case-insensitively)
//     and other X-Amz-* names, and "__proto__" (not a plain JavaScript object key);
//   - two header names differing only in case with different values (the SDK keeps one of them),
//     so a repeated header repeats its name exactly; non-ASCII header values (JavaScript's strings
//     are not the bytes sent); folded (CRLF) lines, which HTTP clients do not send;
//   - header names other than [A-Za-z0-9-] ("x_custom", "x.dot"): the SDK signs them, but loch's
//     Authorization parser only takes [a-z0-9;-] in SignedHeaders (a known disagreement);
//   - x-amz-content-sha256: UNSIGNED-PAYLOAD (an S3 convention; loch's SignSigV4 always signs the
//     body's hash) and a Date header (the SDK deletes it before signing).
import { createHash, createHmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { HttpRequest } from '@smithy/protocol-http';
import { Sha256 } from '@aws-crypto/sha256-js';

const [seedArg, countArg] = process.argv.slice(2);
if (!/^\d+$/.test(seedArg ?? '') || !/^\d+$/.test(countArg ?? '')) {
  process.stderr.write('usage: node sigv4_random_requests.mjs SEED COUNT\n');
  process.exit(2);
}
const COUNT = Number(countArg);
const ACCESS_KEY = 'AKIDEXAMPLE';
const SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
const REGION = 'us-east-1';
const SIGNING_DATE = new Date('2015-08-30T12:36:00Z');
const AMZ_DATE = '20150830T123600Z';
const SESSION_TOKEN = 'FQoGZXIvYXdzEXAMPLE//////////wEaDEXAMPLE+token/with=padding==';

// mulberry32: a small seeded generator.
let state = Number(BigInt.asUintN(32, BigInt(seedArg)));
function random() {
  state |= 0; state = (state + 0x6D2B79F5) | 0;
  let t = Math.imul(state ^ (state >>> 15), 1 | state);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int = (n) => Math.floor(random() * n);  // 0 .. n-1
const pick = (items) => items[int(items.length)];
const chance = (p) => random() < p;
const repeat = (n, make) => Array.from({ length: n }, make);
const randomString = (chars, min, max) => repeat(min + int(max - min + 1), () => pick(chars)).join('');

// ---- AWS's documented SigV4 rules, written independently of the SDK ------------------------------

// URI-encodes every UTF-8 byte but the unreserved characters A-Z a-z 0-9 - . _ ~, with upper-case hex.
function uriEncode(text) {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-._~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

// RFC 3986 section 5.2.4, literally.
function removeDotSegments(input) {
  let output = '';
  const dropLastSegment = () => { output = output.slice(0, Math.max(0, output.lastIndexOf('/'))); };
  while (input.length > 0) {
    if (input.startsWith('../')) input = input.slice(3);
    else if (input.startsWith('./')) input = input.slice(2);
    else if (input.startsWith('/./')) input = input.slice(2);
    else if (input === '/.') input = '/';
    else if (input.startsWith('/../')) { input = input.slice(3); dropLastSegment(); }
    else if (input === '/..') { input = '/'; dropLastSegment(); }
    else if (input === '.' || input === '..') input = '';
    else {
      const segment = input.match(/^\/?[^/]*/)[0];
      output += segment;
      input = input.slice(segment.length);
    }
  }
  return output;
}

// The path as sent normalized: RFC 3986 dot segments removed, then redundant slashes.
const normalizePath = (pathAsSent) => removeDotSegments(pathAsSent).replace(/\/{2,}/g, '/') || '/';

// The canonical URI for a non-S3 service: the path normalized, each segment of the path as sent
// URI-encoded once more.
const canonicalUri = (pathAsSent) => normalizePath(pathAsSent).split('/').map(uriEncode).join('/');

// Query pairs (decoded) sorted by encoded name, then encoded value.
function canonicalQuery(pairs) {
  return pairs.map(([name, value]) => [uriEncode(name), uriEncode(value)])
    .sort(([n1, v1], [n2, v2]) => (n1 < n2 ? -1 : n1 > n2 ? 1 : v1 < v2 ? -1 : v1 > v2 ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`).join('&');
}

// Header lines as sent -> lower-case name -> value: each value trimmed with inner runs of blanks
// collapsed to one space, repeated headers joined with ',' in the order sent.
function canonicalHeaders(lines) {
  const headers = new Map();
  for (const [name, value] of lines) {
    const lower = name.toLowerCase();
    const trimmed = value.replace(/[ \t\r\n]+/g, ' ').replace(/^ | $/g, '');
    headers.set(lower, headers.has(lower) ? `${headers.get(lower)},${trimmed}` : trimmed);
  }
  return headers;
}

const sha256Hex = (data) => createHash('sha256').update(data).digest('hex');
const hmac = (key, data) => createHmac('sha256', key).update(data).digest();

function referenceSignature({ method, path, pairs, lines, signedHeaders, payloadHash, service }) {
  const headers = canonicalHeaders(lines);
  const names = signedHeaders.split(';');
  for (const name of names) if (!headers.has(name)) throw new Error(`signed header ${name} is not in the request`);
  const canonicalRequest = [
    method, canonicalUri(path), canonicalQuery(pairs),
    names.map((name) => `${name}:${headers.get(name)}\n`).join(''), signedHeaders, payloadHash,
  ].join('\n');
  const scope = `${AMZ_DATE.slice(0, 8)}/${REGION}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', AMZ_DATE, scope, sha256Hex(canonicalRequest)].join('\n');
  let key = Buffer.from(`AWS4${SECRET}`);
  for (const part of [AMZ_DATE.slice(0, 8), REGION, service, 'aws4_request']) key = hmac(key, part);
  return hmac(key, stringToSign).toString('hex');
}

// ---- Random requests --------------------------------------------------------------------------------

// Characters of raw (decoded) path segments and query names/values: reserved characters, '%',
// '+', spaces, unicode (a combining accent, a 3-byte and a 4-byte character).
const TEXT_CHARS = [
  ...'abcxyzABCXYZ0189', ' ', ' ', '%', '+', '$', '&', '=', '~', '-', '_', '.', '!', '*', "'", '(',
  ')', ',', ';', ':', '@', '/', '?', '#', '[', ']', '"', '<', '>', '\\', '^', '`', '{', '|', '}',
  'é', 'e\u0301', 'ß', '€', '中', 'ሴ', '😀', '\u00a0',
];

function rawSegment() {
  let segment = randomString(TEXT_CHARS, 1, 8);
  if (segment === '.' || segment === '..') segment += 'x';  // those would be dot segments
  return segment;
}

// A path as an SDK sends it: segments URI-encoded, with "." / ".." / empty segments mixed in.
function randomPath() {
  for (;;) {
    const pieces = repeat(int(6), () => {
      const r = random();
      if (r < 0.6) return uriEncode(rawSegment());
      if (r < 0.72) return '.';
      if (r < 0.84) return '..';
      if (r < 0.92) return '';
      return pick(['...', 'a.b', '.hidden', 'x..y', '~user']);
    });
    const trailingSlash = pieces.length > 0 && chance(0.3);
    // Left out, as the SDK normalizes them otherwise than RFC 3986 (see the top of this file): a bare
    // "." or ".." last, and a ".." anywhere after an empty segment.
    const last = trailingSlash ? undefined : pieces.at(-1);
    if (last === '.' || last === '..') continue;
    if (pieces.includes('') && pieces.indexOf('..', pieces.indexOf('')) >= 0) continue;
    return `/${pieces.join('/')}${trailingSlash ? '/' : ''}`;
  }
}

const QUERY_NAMES = [
  'a', 'a-b', 'a.b', 'a_b', 'a~', 'ab', 'A', 'B', 'b', 'Param', 'param', 'PARAM', 'Param1', 'Param10',
  'list-type', 'prefix', 'max-keys', 'x y', 'k=v', 'k&v', 'a+b', 'a%20b', '1', '10', '2', 'é', 'ключ',
  '€', '😀', 'uploads', '',
];

function randomQuery() {
  const pairs = [];
  for (let i = int(7); i > 0; --i) {
    const r = random();
    const name = pairs.length > 0 && r < 0.25 ? pick(pairs)[0]  // a repeated name
      : pairs.length > 0 && r < 0.35 ? caseVariant(pick(pairs)[0])  // one differing only in case, maybe
        : r < 0.9 ? pick(QUERY_NAMES) : randomString(TEXT_CHARS, 1, 6);
    const value = pairs.length > 0 && chance(0.1) ? pick(pairs)[1]  // sometimes a pair twice
      : chance(0.25) ? '' : randomString(TEXT_CHARS, 1, 10);
    if (/^x-amz-/i.test(name) || name === '__proto__') continue;
    pairs.push([name, value]);
  }
  return pairs;
}

const HEADER_WORDS = ['a', 'b', 'value', 'VALUE', 'x=1', 'q;p', '"quoted"', 'a,b', '(c)', '/path', 'k:v', '*', '~', '%20', '!', '1.0'];
const blanks = (min) => randomString([' ', ' ', '\t'], min, min + 3);

// A header value as a client sends it: words with inner runs of spaces and tabs, sometimes leading
// and trailing blanks, sometimes empty or only blanks.
function randomHeaderValue({ trimmed = false } = {}) {
  if (!trimmed && chance(0.08)) return chance(0.5) ? '' : blanks(1);
  const words = repeat(1 + int(4), () => pick(HEADER_WORDS));
  let value = words.map((word, i) => (i === 0 ? word : (chance(0.5) ? blanks(1) : ' ') + word)).join('');
  if (!trimmed && chance(0.3)) value = blanks(1) + value;
  if (!trimmed && chance(0.3)) value += blanks(1);
  return value;
}

// Names of headers the SDK signs, in mixed case.
const SIGNED_HEADER_NAMES = [
  'X-Custom', 'x-custom-lower', 'X-CUSTOM-UPPER', 'x-Amz-Meta-MiXeD', 'My-Header1', 'my-header2',
  'X-Trace-Note', 'Accept', 'Accept-Encoding', 'Content-Encoding', 'X-Empty', 'X-Amz-Meta-Tag', 'X-1',
  'x-amz-user-agent', 'X-Amz-Client-Context',
];
// Headers the SDK never signs (so SignedHeaders is not every header sent).
const UNSIGNED_HEADERS = [
  ['User-Agent', 'aws-sdk-js/3.0.0 ua/2.1  os/linux  lang/js'], ['Connection', 'keep-alive'],
  ['X-Amzn-Trace-Id', 'Root=1-5759e988-bd862e3fe1be46a994272793'], ['Cache-Control', 'no-cache'],
  ['Referer', 'https://example.com/'], ['Pragma', 'no-cache'], ['Proxy-Authorization', 'Basic e30='],
  ['Sec-Fetch-Mode', 'cors'],
];

const BODIES = [
  () => '',
  () => '{"DeliveryStreamName":"orders","Record":{"Data":"eyJpZCI6MX0="}}',
  () => '{"QueryString":"SELECT \'é€中😀\' AS x","WorkGroup":"primary"}',
  () => randomString([...TEXT_CHARS, '\n', '\t', '\r\n'], 0, 40),
  () => `${'x'.repeat(int(3000))}\n`,
];

function caseVariant(name) {
  return pick([name, name.toLowerCase(), name.toUpperCase()]);
}

// Fisher-Yates; lines of a repeated header keep their relative order (their values are reassigned).
function shuffleLines(lines) {
  const shuffled = [...lines];
  for (let i = shuffled.length - 1; i > 0; --i) {
    const j = int(i + 1);
    [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]];
  }
  const valuesByName = new Map();
  for (const [name, value] of lines) valuesByName.set(name, [...(valuesByName.get(name) ?? []), value]);
  return shuffled.map(([name]) => [name, valuesByName.get(name).shift()]);
}

function randomRequest() {
  const service = pick(['firehose', 'athena']);
  const method = pick(['GET', 'POST', 'PUT', 'DELETE']);
  const body = method === 'POST' || method === 'PUT' || chance(0.2) ? pick(BODIES)() : '';
  const lines = [];
  const used = new Set();
  const add = (name, value) => {
    if (used.has(name.toLowerCase())) return;
    used.add(name.toLowerCase());
    lines.push([name, value]);
  };
  if (chance(0.9)) {
    add(caseVariant('Host'), pick([`${service}.us-east-1.amazonaws.com`, '127.0.0.1:8080', 'localhost:4566', '[::1]:9000']));
  }
  if (body !== '' && chance(0.7)) {
    add(caseVariant('Content-Type'), pick(['application/x-amz-json-1.1', 'application/json;  charset=utf-8', ' text/plain\t']));
  }
  if (body !== '' && chance(0.4)) add(caseVariant('Content-Length'), String(Buffer.byteLength(body)));
  if (chance(0.5)) {
    add(caseVariant('X-Amz-Target'), service === 'firehose' ? 'Firehose_20150804.PutRecord' : 'AmazonAthena.StartQueryExecution');
  }
  for (let i = int(5); i > 0; --i) add(pick(SIGNED_HEADER_NAMES), randomHeaderValue());
  // A repeated header: the same name again (exactly), each line's value without outer blanks.
  if (chance(0.3)) {
    const name = pick(SIGNED_HEADER_NAMES);
    if (!used.has(name.toLowerCase())) {
      add(name, randomHeaderValue({ trimmed: true }));
      for (let i = 1 + int(2); i > 0; --i) lines.push([name, randomHeaderValue({ trimmed: true })]);
    }
  }
  if (chance(0.3)) {
    const [name, value] = pick(UNSIGNED_HEADERS);
    add(caseVariant(name), value);
  }
  return {
    service, method, path: randomPath(), pairs: randomQuery(), lines: shuffleLines(lines), body,
    applyChecksum: chance(0.5), sessionToken: chance(0.15),
  };
}

// ---- Signing with the SDK, and the checks -------------------------------------------------------

// The SDK's query object: a repeated name is an array of its values.
function sdkQuery(pairs) {
  const query = {};
  for (const [name, value] of pairs) {
    if (!Object.hasOwn(query, name)) query[name] = value;
    else if (Array.isArray(query[name])) query[name].push(value);
    else query[name] = [query[name], value];
  }
  return query;
}

function pairsOf(query) {
  return Object.entries(query).flatMap(([name, value]) => (Array.isArray(value) ? value.map((v) => [name, v]) : [[name, value]]));
}

// The SDK's headers object: repeated headers joined with ',' (one field, as RFC 9110 allows).
function sdkHeaders(lines) {
  const headers = {};
  for (const [name, value] of lines) headers[name] = Object.hasOwn(headers, name) ? `${headers[name]},${value}` : value;
  return headers;
}

function signer({ service, applyChecksum, sessionToken }) {
  return new SignatureV4({
    service, region: REGION, sha256: Sha256, applyChecksum,
    credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET, ...(sessionToken ? { sessionToken: SESSION_TOKEN } : {}) },
  });
}

// For the SDK's canonical path alone (it does not depend on the service, but S3's).
const SDK_PROBE = new SignatureV4({ service: 'firehose', region: REGION, sha256: Sha256, credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET } });
const UNSIGNABLE = new Set(['authorization', 'cache-control', 'connection', 'expect', 'from', 'keep-alive', 'max-forwards', 'pragma', 'referer', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'user-agent', 'x-amzn-trace-id']);
const sdkSigns = (lowerName) => !UNSIGNABLE.has(lowerName) && !/^(proxy|sec)-/.test(lowerName);

function check(condition, what, details) {
  if (!condition) throw new Error(`${what}: ${JSON.stringify(details)}`);
}

async function generate() {
  const spec = randomRequest();
  const { service, method, path, pairs, lines, body } = spec;
  const toSign = new HttpRequest({ method, protocol: 'https:', hostname: 'localhost', path, query: sdkQuery(pairs), headers: sdkHeaders(lines), body });
  const signed = await signer(spec).sign(toSign, { signingDate: SIGNING_DATE });
  const authorization = signed.headers.authorization;
  check(signed.path === path, 'the SDK kept the path', { path, signed: signed.path });
  const sortedPairs = (list) => JSON.stringify([...list].sort(([n1, v1], [n2, v2]) => (n1 < n2 ? -1 : n1 > n2 ? 1 : v1 < v2 ? -1 : v1 > v2 ? 1 : 0)));
  check(sortedPairs(pairsOf(signed.query)) === sortedPairs(pairs), 'the SDK kept the query', { pairs });

  // The request as sent: the headers we chose (repeated ones as several lines) and what the SDK added.
  const given = sdkHeaders(lines);
  const headers = [...lines];
  for (const [name, value] of Object.entries(signed.headers)) {
    if (Object.hasOwn(given, name)) check(given[name] === value, 'the SDK kept a header', { name, value });
    else headers.push([name, value]);
  }
  const added = headers.slice(lines.length).map(([name]) => name).sort().join(',');
  const expectedAdded = ['authorization', 'x-amz-date', ...(spec.applyChecksum ? ['x-amz-content-sha256'] : []), ...(spec.sessionToken ? ['x-amz-security-token'] : [])].sort().join(',');
  check(added === expectedAdded, 'the SDK added its headers', { added, expectedAdded });
  check(signed.headers['x-amz-date'] === AMZ_DATE, 'X-Amz-Date', signed.headers);

  const match = /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/20150830\/us-east-1\/([a-z]+)\/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$/.exec(authorization);
  check(match && match[1] === service, 'the Authorization shape', { authorization });
  const [, , signedHeaders, signature] = match;
  const expectedSigned = [...new Set(headers.map(([name]) => name.toLowerCase()).filter(sdkSigns))].sort().join(';');
  check(signedHeaders === expectedSigned, 'the SDK signed every signable header', { signedHeaders, expectedSigned });

  // AWS's documented rules, implemented independently, on the request as sent.
  const payloadHash = sha256Hex(Buffer.from(body, 'utf8'));
  check(SDK_PROBE.getCanonicalPath({ path }) === canonicalUri(path), 'the canonical URI', { path, sdk: SDK_PROBE.getCanonicalPath({ path }), rule: canonicalUri(path) });
  const reference = referenceSignature({ method, path, pairs, lines: headers, signedHeaders, payloadHash, service });
  check(reference === signature, 'the documented rules give the SDK\'s signature', { reference, signature });

  // The SDK again, on the request as sent minus its own headers: the same Authorization.
  const resent = headers.filter(([name]) => !['authorization', 'x-amz-date'].includes(name.toLowerCase()));
  const again = await signer(spec).sign(
    new HttpRequest({ method, path, query: sdkQuery(pairs), headers: sdkHeaders(resent), body }), { signingDate: SIGNING_DATE });
  check(again.headers.authorization === authorization, 'the SDK re-signs the request as sent alike', { again: again.headers.authorization, authorization });

  // The SDK's presigned form (x-amz-* headers hoisted into the query), checked with the reference.
  // (Skipped when it signs no header at all: the SDK then writes one newline more than AWS's
  // documented form, where CanonicalHeaders is empty. A header-signed request always signs x-amz-date.)
  const presigned = await signer(spec).presign(toSign, { signingDate: SIGNING_DATE, expiresIn: 900 });
  if (presigned.query['X-Amz-SignedHeaders'] !== '') {
    const presignedPairs = pairsOf(presigned.query).filter(([name]) => name !== 'X-Amz-Signature');
    const presignedLines = Object.entries(presigned.headers);
    const presignedReference = referenceSignature({
      method, path, pairs: presignedPairs, lines: presignedLines, signedHeaders: presigned.query['X-Amz-SignedHeaders'], payloadHash, service,
    });
    check(presignedReference === presigned.query['X-Amz-Signature'], 'the presigned signature', { presignedReference, sdk: presigned.query['X-Amz-Signature'] });
  }

  // Well-formed as sent: an origin-form path of unreserved characters, '/', and upper-case %XX;
  // header names tokens of [A-Za-z0-9-], values without control characters but tab.
  check(/^\/(?:[A-Za-z0-9\-._~/]|%[0-9A-F]{2})*$/.test(path), 'the path is as an SDK sends it', { path });
  for (const [name, value] of headers) {
    check(/^[A-Za-z0-9-]+$/.test(name) && /^[\t\x20-\x7e]*$/.test(value), 'a header as sent', { name, value });
  }
  return { service, method, path_as_sent: path, query: pairs, headers, body, authorization };
}

try {
  const out = [];
  for (let i = 0; i < COUNT; ++i) out.push(JSON.stringify(await generate()));
  process.stdout.write(out.length > 0 ? `${out.join('\n')}\n` : '');
} catch (error) {
  process.stderr.write(`sigv4_random_requests (seed ${seedArg}): ${error.stack ?? error}\n`);
  process.exitCode = 1;
}
