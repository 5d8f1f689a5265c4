import { createHash } from 'node:crypto';
import { GetObjectCommand, S3Client, UploadPartCommand } from '@aws-sdk/client-s3';
import { signsPayload, unsignedPayloads } from '../../src/storage/s3.js';

test('uploads sign their payload only over plain http to a host other than loopback, unless told', () => {
  expect(signsPayload({})).toBe(false); // AWS, https
  expect(signsPayload({ endpoint: 'https://s3.example.com' })).toBe(false);
  expect(signsPayload({ endpoint: 'http://127.0.0.1:8333' })).toBe(false);
  expect(signsPayload({ endpoint: 'http://localhost:9000' })).toBe(false);
  expect(signsPayload({ endpoint: 'http://[::1]:9000' })).toBe(false);
  expect(signsPayload({ endpoint: 'http://minio.internal:9000' })).toBe(true);
  expect(signsPayload({ endpoint: 'http://10.0.0.5:9000' })).toBe(true);
  expect(signsPayload({ endpoint: 'https://s3.example.com', signPayload: true })).toBe(true);
  expect(signsPayload({ endpoint: 'http://minio.internal:9000', signPayload: false })).toBe(false);
});

const hashOf = (s: string) => createHash('sha256').update(s).digest('hex');

/** The `x-amz-content-sha256` of the request as signed (captured after signing; nothing is sent). */
async function signedHash(unsigned: boolean, command: UploadPartCommand | GetObjectCommand): Promise<string | undefined> {
  const client = new S3Client({
    region: 'us-east-1',
    endpoint: 'http://127.0.0.1:9',
    forcePathStyle: true,
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
  });
  if (unsigned) unsignedPayloads(client);
  let seen: Record<string, string> | undefined;
  client.middlewareStack.add(
    () => async (args) => {
      seen = (args.request as { headers: Record<string, string> }).headers;
      throw new Error('captured');
    },
    { step: 'finalizeRequest', priority: 'low' },
  );
  await expect(client.send(command as UploadPartCommand)).rejects.toThrow('captured');
  expect(seen?.authorization).toMatch(/SignedHeaders=[^,]*x-amz-content-sha256/);
  return seen?.['x-amz-content-sha256'];
}

test('an unsigned UploadPart is signed with UNSIGNED-PAYLOAD instead of the hash of its body; other requests are untouched', async () => {
  const part = () => new UploadPartCommand({ Bucket: 'b', Key: 'k', UploadId: 'u', PartNumber: 1, Body: Buffer.from('lifeboat'), ContentLength: 8 });
  expect(await signedHash(true, part())).toBe('UNSIGNED-PAYLOAD');
  expect(await signedHash(false, part())).toBe(hashOf('lifeboat'));
  expect(await signedHash(true, new GetObjectCommand({ Bucket: 'b', Key: 'k' }))).toBe(hashOf(''));
});
