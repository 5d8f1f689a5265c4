import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { HeadBucketCommand } from '@aws-sdk/client-s3';
import { toolPath } from '../../dev/services.js';
import { repoRoot, s3Client, services } from '../harness/services.js';
import { SEARCH_ATTRIBUTE_NAMES } from '../../src/contracts/index.js';

// The one-shot scripts of deploy/compose.yaml, run against the suite's real servers: the bucket
// script against SeaweedFS (the image it runs in ships curl), the namespace script against
// Temporal with the Temporal CLI (as in temporalio/admin-tools).

const scripts = path.join(repoRoot, 'deploy', 'scripts');

function run(script: string, env: Record<string, string>): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile('sh', [path.join(scripts, script)], { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` });
    });
  });
}

function onPath(tool: string): boolean {
  return (process.env.PATH ?? '').split(path.delimiter).some((dir) => {
    try {
      accessSync(path.join(dir, tool), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

const hasCurl = onPath('curl');
if (!hasCurl) console.warn('deploy/scripts/s3-bucket.sh is not tested: curl is not installed');

(hasCurl ? test : test.skip)('s3-bucket.sh creates the bucket once, says so when it exists, and fails on wrong credentials', async () => {
  const s = services().s3;
  const bucket = `lb-deploy-${randomBytes(4).toString('hex')}`;
  const env = { S3_ENDPOINT: s.endpoint, BUCKET: bucket, AWS_ACCESS_KEY_ID: s.accessKeyId, AWS_SECRET_ACCESS_KEY: s.secretAccessKey };
  expect(await run('s3-bucket.sh', env)).toEqual({ code: 0, out: `created bucket ${bucket}\n` });
  await s3Client().send(new HeadBucketCommand({ Bucket: bucket }));
  expect(await run('s3-bucket.sh', env)).toEqual({ code: 0, out: `bucket ${bucket} already exists\n` });
  const wrong = await run('s3-bucket.sh', { ...env, BUCKET: `${bucket}-x`, AWS_SECRET_ACCESS_KEY: 'wrong' });
  expect(wrong.code).not.toBe(0);
  expect(wrong.out).toContain(`creating bucket ${bucket}-x failed: HTTP 403`);
  expect(wrong.out).not.toContain(s.secretAccessKey);
});

test('temporal-namespace.sh creates the namespace and its search attributes once and leaves existing ones alone', async () => {
  const namespace = `lb-deploy-${randomBytes(4).toString('hex')}`;
  const env = {
    PATH: `${path.dirname(toolPath('temporal'))}${path.delimiter}${process.env.PATH ?? ''}`,
    TEMPORAL_ADDRESS: services().temporal.address,
    NAMESPACE: namespace,
    NAMESPACE_RETENTION: '3d',
  };
  const first = await run('temporal-namespace.sh', env);
  expect(first).toMatchObject({ code: 0 });
  expect(first.out).toContain(`created namespace ${namespace} (retention 3d)`);
  for (const name of SEARCH_ATTRIBUTE_NAMES) expect(first.out).toContain(`registered search attribute ${name}\n`);
  expect(await run('temporal-namespace.sh', env)).toEqual({
    code: 0,
    out: `namespace ${namespace} already exists\nsearch attributes of ${namespace} already registered\n`,
  });
});
