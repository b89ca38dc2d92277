// Drives loch's Firehose API with the unmodified AWS SDK for JavaScript v3
// (@aws-sdk/client-firehose), then reads what was delivered back through the Athena SDK: the path
// of a producer and an analyst who only know AWS. Exits non-zero on the first failed expectation.
// Usage: node firehose_sdk_check.mjs ENDPOINT ACCESS_KEY SECRET
import assert from 'node:assert/strict';
import {
  FirehoseClient, CreateDeliveryStreamCommand, DescribeDeliveryStreamCommand,
  ListDeliveryStreamsCommand, PutRecordCommand, PutRecordBatchCommand, DeleteDeliveryStreamCommand,
} from '@aws-sdk/client-firehose';
import {
  AthenaClient, StartQueryExecutionCommand, GetQueryExecutionCommand, GetQueryResultsCommand,
} from '@aws-sdk/client-athena';
import { SignatureV4 } from '@smithy/signature-v4';
import { HttpRequest } from '@smithy/protocol-http';
import { Sha256 } from '@aws-crypto/sha256-js';

const [endpoint, accessKeyId, secretAccessKey] = process.argv.slice(2);
const config = { endpoint, region: 'us-east-1', credentials: { accessKeyId, secretAccessKey }, maxAttempts: 1 };
const firehose = new FirehoseClient(config);
const athena = new AthenaClient(config);
const stream = `sdk-orders-${process.pid}`;  // its table: raw.sdk_orders_<pid>
const table = `raw.${stream.replaceAll('-', '_')}`;
const encode = (value) => new TextEncoder().encode(typeof value === 'string' ? value : JSON.stringify(value));

async function rejects(promise, name, pattern) {
  try {
    await promise;
  } catch (error) {
    assert.equal(error.name, name, `${error.name}: ${error.message}`);
    if (pattern) assert.match(error.message, pattern);
    return error;
  }
  assert.fail(`expected ${name}`);
}

// Create, list, describe.
const created = await firehose.send(new CreateDeliveryStreamCommand({
  DeliveryStreamName: stream,
  DeliveryStreamType: 'DirectPut',
  ExtendedS3DestinationConfiguration: {
    BucketARN: 'arn:aws:s3:::lake', RoleARN: 'arn:aws:iam::000000000000:role/firehose',
    BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 1 }, CompressionFormat: 'GZIP',
  },
}));
assert.ok(created.DeliveryStreamARN.endsWith(`deliverystream/${stream}`));
await rejects(firehose.send(new CreateDeliveryStreamCommand({ DeliveryStreamName: stream })), 'ResourceInUseException');
const listed = await firehose.send(new ListDeliveryStreamsCommand({}));
assert.ok(listed.DeliveryStreamNames.includes(stream));
assert.equal(listed.HasMoreDeliveryStreams, false);
const { DeliveryStreamDescription: description } = await firehose.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: stream }));
assert.equal(description.DeliveryStreamStatus, 'ACTIVE');
assert.equal(description.Destinations[0].ExtendedS3DestinationDescription.CompressionFormat, 'GZIP');
assert.equal(description.Destinations[0].ExtendedS3DestinationDescription.BufferingHints.IntervalInSeconds, 1);
assert.ok(description.CreateTimestamp instanceof Date);

// One record, then a full batch of 500: per-record ids, in order.
const one = await firehose.send(new PutRecordCommand({ DeliveryStreamName: stream, Record: { Data: encode({ id: 0, amount: 1.5, region: 'eu' }) } }));
assert.ok(one.RecordId);
const batch = Array.from({ length: 500 }, (_, i) => ({ Data: encode({ id: i + 1, amount: 2, region: i % 2 ? 'eu' : 'us' }) }));
const put = await firehose.send(new PutRecordBatchCommand({ DeliveryStreamName: stream, Records: batch }));
assert.equal(put.FailedPutCount, 0);
assert.equal(put.RequestResponses.length, 500);
assert.equal(new Set(put.RequestResponses.map((r) => r.RecordId)).size, 500);

// Limits, with Firehose's semantics.
const tooMany = Array.from({ length: 501 }, () => ({ Data: encode({ x: 1 }) }));
await rejects(firehose.send(new PutRecordBatchCommand({ DeliveryStreamName: stream, Records: tooMany })), 'InvalidArgumentException', /at most 500 records/);
const big = 'x'.repeat(900 * 1024);
const tooBig = Array.from({ length: 5 }, () => ({ Data: encode(big) }));
await rejects(firehose.send(new PutRecordBatchCommand({ DeliveryStreamName: stream, Records: tooBig })), 'InvalidArgumentException', /4194304 bytes/);
const oversized = `{"pad": "${'y'.repeat(1000 * 1024)}"}`;
const mixed = await firehose.send(new PutRecordBatchCommand({
  DeliveryStreamName: stream,
  Records: [{ Data: encode({ id: 1001, amount: 3, region: 'eu' }) }, { Data: encode(oversized) }, { Data: encode({ id: 1002, amount: 3, region: 'eu' }) }],
}));
assert.equal(mixed.FailedPutCount, 1);
assert.ok(mixed.RequestResponses[0].RecordId);
assert.equal(mixed.RequestResponses[1].RecordId, undefined);
assert.equal(mixed.RequestResponses[1].ErrorCode, 'InvalidArgumentException');
assert.match(mixed.RequestResponses[1].ErrorMessage, /over the limit of 1024000 bytes/);
assert.ok(mixed.RequestResponses[2].RecordId);
await rejects(firehose.send(new PutRecordCommand({ DeliveryStreamName: stream, Record: { Data: encode(oversized) } })), 'InvalidArgumentException');
await rejects(firehose.send(new PutRecordCommand({ DeliveryStreamName: 'no-such-stream', Record: { Data: encode({}) } })), 'ResourceNotFoundException', /no-such-stream/);

// A wrong secret is refused and changes nothing.
const forger = new FirehoseClient({ ...config, credentials: { accessKeyId, secretAccessKey: 'not-the-secret' } });
const refused = await rejects(forger.send(new PutRecordCommand({ DeliveryStreamName: stream, Record: { Data: encode({ id: -1 }) } })), 'AccessDeniedException');
assert.equal(refused.$metadata.httpStatusCode, 403);

// Hostile bodies, correctly signed with the SDK's own signer: each is refused as a whole.
const signer = new SignatureV4({ service: 'firehose', region: 'us-east-1', credentials: { accessKeyId, secretAccessKey }, sha256: Sha256 });
async function raw(action, body) {
  const url = new URL(endpoint);
  const request = new HttpRequest({
    method: 'POST', protocol: url.protocol, hostname: url.hostname, port: Number(url.port), path: '/',
    headers: { host: url.host, 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `Firehose_20150804.${action}` },
    body,
  });
  const signed = await signer.sign(request);
  const response = await fetch(`${endpoint}/`, { method: 'POST', headers: signed.headers, body });
  return { status: response.status, body: await response.json() };
}
const badBase64 = await raw('PutRecordBatch', JSON.stringify({ DeliveryStreamName: stream, Records: [{ Data: 'eyJhIjogMX0=' }, { Data: 'not base64!' }] }));
assert.equal(badBase64.status, 400);
assert.equal(badBase64.body.__type, 'InvalidArgumentException');
assert.match(badBase64.body.Message, /Records\[1\]\.Data: not valid base64/);
for (const body of [`{"DeliveryStreamName": "${stream}", "Records": [{"Data": "eyJ`, 'not json', '[]', `{"DeliveryStreamName": "${stream}", "Records": "all"}`, '{"DeliveryStreamName": 7, "Records": [{"Data": "e30="}]}', `{"DeliveryStreamName": "${stream}", "Records": [{"Data": 5}]}`]) {
  const answer = await raw('PutRecordBatch', body);
  assert.equal(answer.status, 400, body);
  assert.equal(answer.body.__type, 'InvalidArgumentException', body);
}
const unknownAction = await raw('UpdateDestination', '{}');
assert.equal(unknownAction.body.__type, 'UnknownOperationException');

// What was acknowledged is queryable (through Athena) once the 1 s buffer is delivered.
async function count() {
  const { QueryExecutionId: id } = await athena.send(new StartQueryExecutionCommand({
    QueryString: `SELECT count(*), count(DISTINCT id), min(id) FROM ${table}`,
  }));
  for (let i = 0; i < 500; i++) {
    const { QueryExecution } = await athena.send(new GetQueryExecutionCommand({ QueryExecutionId: id }));
    if (QueryExecution.Status.State === 'SUCCEEDED') break;
    if (QueryExecution.Status.State === 'FAILED') return null;  // the table is not there yet
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const results = await athena.send(new GetQueryResultsCommand({ QueryExecutionId: id }));
  return results.ResultSet.Rows[1].Data.map((cell) => cell.VarCharValue);
}
const started = Date.now();
let seen = null;
while (Date.now() - started < 15000) {
  seen = await count();
  if (seen && seen[0] === '503') break;
  await new Promise((resolve) => setTimeout(resolve, 100));
}
assert.deepEqual(seen, ['503', '503', '0']);
console.log(`delivered and queryable ${Date.now() - started} ms after the last put`);

// Deleting the stream keeps its table.
await firehose.send(new DeleteDeliveryStreamCommand({ DeliveryStreamName: stream }));
await rejects(firehose.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: stream })), 'ResourceNotFoundException');
assert.deepEqual(await count(), ['503', '503', '0']);
// Record format conversion: JSON in, Parquet with a catalog table's columns out.
async function run(sql) {
  const { QueryExecutionId: id } = await athena.send(new StartQueryExecutionCommand({ QueryString: sql }));
  for (let i = 0; i < 500; i++) {
    const { QueryExecution } = await athena.send(new GetQueryExecutionCommand({ QueryExecutionId: id }));
    if (QueryExecution.Status.State === 'SUCCEEDED') {
      const results = await athena.send(new GetQueryResultsCommand({ QueryExecutionId: id }));
      return results.ResultSet.Rows.slice(1).map((row) => row.Data.map((cell) => cell.VarCharValue));
    }
    if (QueryExecution.Status.State === 'FAILED') return null;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`query did not finish: ${sql}`);
}
const typedTable = `typed_${process.pid}`;
assert.ok(await run(`CREATE TABLE sdk.${typedTable} AS SELECT CAST(1 AS BIGINT) AS id, CAST(1 AS DOUBLE) AS amount WHERE false`));
const typedStream = `sdk-typed-${process.pid}`;
await firehose.send(new CreateDeliveryStreamCommand({
  DeliveryStreamName: typedStream,
  ExtendedS3DestinationConfiguration: {
    BucketARN: 'arn:aws:s3:::lake', RoleARN: 'arn:aws:iam::000000000000:role/firehose',
    BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 1 },
    DataFormatConversionConfiguration: {
      Enabled: true,
      SchemaConfiguration: { DatabaseName: 'sdk', TableName: typedTable },
      InputFormatConfiguration: { Deserializer: { OpenXJsonSerDe: {} } },
      OutputFormatConfiguration: { Serializer: { ParquetSerDe: {} } },
    },
  },
}));
const typed = await firehose.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: typedStream }));
assert.equal(typed.DeliveryStreamDescription.Destinations[0].ExtendedS3DestinationDescription
  .DataFormatConversionConfiguration.SchemaConfiguration.TableName, typedTable);
await firehose.send(new PutRecordBatchCommand({
  DeliveryStreamName: typedStream,
  Records: [{ Data: encode({ id: 1, amount: 2.5 }) }, { Data: encode({ id: 'x', amount: 1 }) }, { Data: encode({ id: 3, amount: '4' }) }],
}));
let converted = null;
for (const started = Date.now(); Date.now() - started < 15000;) {
  converted = await run(`SELECT count(*), sum(amount), typeof(sum(amount)) FROM raw.${typedStream.replaceAll('-', '_')}`);
  if (converted && converted[0][0] === '2') break;
  await new Promise((resolve) => setTimeout(resolve, 100));
}
assert.deepEqual(converted, [['2', '6.5', 'DOUBLE']]);
console.log('firehose interop ok');
