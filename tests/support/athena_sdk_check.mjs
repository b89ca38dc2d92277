// Drives loch's Athena API with the unmodified AWS SDK for JavaScript v3 (@aws-sdk/client-athena),
// asserting what an Athena user relies on. Exits non-zero on the first failed expectation.
// Usage: node athena_sdk_check.mjs ENDPOINT ACCESS_KEY SECRET
import assert from 'node:assert/strict';
import {
  AthenaClient, StartQueryExecutionCommand, GetQueryExecutionCommand, GetQueryResultsCommand,
  StopQueryExecutionCommand, ListQueryExecutionsCommand, GetWorkGroupCommand,
} from '@aws-sdk/client-athena';

const [endpoint, accessKeyId, secretAccessKey] = process.argv.slice(2);
const client = new AthenaClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId, secretAccessKey } });

async function waitFor(id) {
  for (let i = 0; i < 500; i++) {
    const { QueryExecution } = await client.send(new GetQueryExecutionCommand({ QueryExecutionId: id }));
    if (!['QUEUED', 'RUNNING'].includes(QueryExecution.Status.State)) return QueryExecution;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`query ${id} did not finish`);
}

// A query, then every page of its results.
const { QueryExecutionId: id } = await client.send(new StartQueryExecutionCommand({
  QueryString: 'SELECT n, label, n * 0.5 AS half FROM demo.numbers WHERE n <= 25 ORDER BY n',
  WorkGroup: 'primary',
}));
const execution = await waitFor(id);
assert.equal(execution.Status.State, 'SUCCEEDED');
assert.ok(execution.Status.SubmissionDateTime instanceof Date);
let token;
const rows = [];
let metadata;
do {
  const page = await client.send(new GetQueryResultsCommand({ QueryExecutionId: id, MaxResults: 10, NextToken: token }));
  metadata ??= page.ResultSet.ResultSetMetadata;
  rows.push(...page.ResultSet.Rows.map((row) => row.Data.map((cell) => cell.VarCharValue)));
  token = page.NextToken;
} while (token);
assert.deepEqual(metadata.ColumnInfo.map((c) => [c.Name, c.Type]), [['n', 'bigint'], ['label', 'varchar'], ['half', 'decimal']]);
assert.deepEqual(rows[0], ['n', 'label', 'half']);  // the header row, as Athena sends it
assert.equal(rows.length, 26);
assert.deepEqual(rows[25].slice(0, 2), ['25', 'item 25']);

// A failing query reports why.
const { QueryExecutionId: bad } = await client.send(new StartQueryExecutionCommand({ QueryString: 'SELECT nope FROM demo.numbers' }));
const failed = await waitFor(bad);
assert.equal(failed.Status.State, 'FAILED');
assert.match(failed.Status.StateChangeReason, /nope/);

// Stopping a long query.
const { QueryExecutionId: long } = await client.send(new StartQueryExecutionCommand({ QueryString: 'SELECT count(*) FROM range(100000000000) a' }));
await new Promise((resolve) => setTimeout(resolve, 200));
await client.send(new StopQueryExecutionCommand({ QueryExecutionId: long }));
assert.equal((await waitFor(long)).Status.State, 'CANCELLED');

const listed = await client.send(new ListQueryExecutionsCommand({ MaxResults: 10 }));
assert.ok(listed.QueryExecutionIds.includes(id));
const workgroup = await client.send(new GetWorkGroupCommand({ WorkGroup: 'primary' }));
assert.equal(workgroup.WorkGroup.State, 'ENABLED');

// Errors arrive as the SDK's typed exceptions.
await assert.rejects(client.send(new GetQueryExecutionCommand({ QueryExecutionId: 'no-such-query' })),
                     (error) => error.name === 'InvalidRequestException');
const wrong = new AthenaClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId, secretAccessKey: 'wrong' } });
await assert.rejects(wrong.send(new ListQueryExecutionsCommand({})), (error) => error.$metadata.httpStatusCode === 403);
console.log('athena interop ok');
