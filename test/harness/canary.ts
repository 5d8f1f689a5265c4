// A secrets canary for end-to-end tests: a random password given to the database, then looked
// for everywhere it must never be: workflow histories (inputs, results, failures, heartbeat
// details, memo, search attributes), logs, stored objects and their metadata, and the argv of
// every process, sampled from /proc while the test runs.
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { Client, Connection } from '@temporalio/client';
import { s3Client, services } from './services.js';

/** JSON of anything, with byte arrays (Temporal payloads) also shown as text and base64. */
function expose(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (v instanceof Uint8Array) return `${Buffer.from(v).toString('utf8')} ${Buffer.from(v).toString('base64')}`;
    if (v && typeof v === 'object' && (v as { type?: string }).type === 'Buffer' && Array.isArray((v as { data?: unknown }).data))
      return Buffer.from((v as { data: number[] }).data).toString('utf8');
    return v;
  });
}

export class SecretCanary {
  /** The password to give the database (letters and digits: it survives URLs and shells unchanged). */
  readonly secret: string;
  /** Where the secret was found; a test asserts this stays empty. */
  readonly found: string[] = [];
  private argvSamples = 0;
  private sampling: NodeJS.Timeout | undefined;

  /** A random secret, or one the test must use as it is (a key of a fixed format, a password with awkward characters). */
  constructor(secret = `cnry${randomBytes(12).toString('hex')}`) {
    this.secret = secret;
  }

  /** Samples every process's argv every `everyMs` until {@link stopSampling}. */
  startSampling(everyMs = 20): void {
    this.sampling = setInterval(() => this.sampleArgv(), everyMs);
  }

  /** Stops sampling; returns how many samples of /proc were taken. */
  stopSampling(): number {
    clearInterval(this.sampling);
    this.sampleArgv();
    return this.argvSamples;
  }

  private sampleArgv(): void {
    this.argvSamples++;
    for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
      try {
        const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        if (argv.includes(this.secret)) this.found.push(`argv of pid ${pid}: ${argv.split('\0')[0]}`);
      } catch {
        /* gone */
      }
    }
  }

  /** Looks in a text (logs, CLI output, a manifest). */
  checkText(where: string, text: string): void {
    if (text.includes(this.secret)) this.found.push(where);
  }

  /**
   * Looks in the full history, memo and search attributes of every workflow run on `taskQueue`;
   * returns how many workflows were read.
   */
  async checkHistories(taskQueue: string): Promise<number> {
    const connection = await Connection.connect({ address: services().temporal.address });
    try {
      const client = new Client({ connection, namespace: 'default' });
      let n = 0;
      for await (const wf of client.workflow.list({ query: `TaskQueue = '${taskQueue}'` })) {
        n++;
        const handle = client.workflow.getHandle(wf.workflowId, wf.runId);
        this.checkText(`history of ${wf.workflowId}`, expose(await handle.fetchHistory()));
        const d = await handle.describe();
        this.checkText(`memo/search attributes of ${wf.workflowId}`, expose({ memo: d.memo, sa: d.searchAttributes, raw: d.raw }));
      }
      return n;
    } finally {
      await connection.close();
    }
  }

  /** Looks in every object of `bucket` (its bytes and metadata); returns how many objects were read. */
  async checkBucket(bucket: string): Promise<number> {
    const s3 = s3Client();
    const objects = (await s3.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? [];
    for (const o of objects) {
      const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: o.Key! }));
      this.checkText(`metadata of s3://${bucket}/${o.Key}`, expose({ meta: head.Metadata, type: head.ContentType, tags: head.$metadata }));
      const body = Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key! }))).Body!.transformToByteArray());
      this.checkText(`s3://${bucket}/${o.Key}`, body.toString('latin1'));
    }
    return objects.length;
  }
}
