// Lists and reads a bucket with the AWS SDK for JavaScript v3 (an S3 client loch did not write) and
// prints [{key, size, sha256}] as JSON. Usage: node s3_sdk_list.mjs ENDPOINT REGION KEY SECRET BUCKET PREFIX
import { S3Client, ListObjectsV2Command, GetObjectCommand } from '@aws-sdk/client-s3';
import crypto from 'node:crypto';

const [endpoint, region, accessKeyId, secretAccessKey, bucket, prefix] = process.argv.slice(2);
const client = new S3Client({ endpoint, region, forcePathStyle: true, credentials: { accessKeyId, secretAccessKey } });
const objects = [];
let token;
do {
  const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token, MaxKeys: 7 }));
  for (const item of page.Contents ?? []) {
    const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: item.Key }));
    const bytes = Buffer.from(await object.Body.transformToByteArray());
    objects.push({ key: item.Key, size: item.Size, sha256: crypto.createHash('sha256').update(bytes).digest('hex') });
  }
  token = page.IsTruncated ? page.NextContinuationToken : undefined;
} while (token);
console.log(JSON.stringify(objects));
