// Starts the real services the suite runs against, unless they are given by the environment:
//   LIFEBOAT_TEST_TEMPORAL_ADDRESS (host:port of a Temporal server)
//   LIFEBOAT_TEST_S3_ENDPOINT (+ LIFEBOAT_TEST_S3_ACCESS_KEY_ID / _SECRET_ACCESS_KEY)
//   LIFEBOAT_TEST_PG_URL (superuser URL of a PostgreSQL server with password authentication)
// Plain JavaScript: Jest loads global setup outside its module mapper, so this imports the build.
import { existsSync } from 'node:fs';
import { bundleWorkflows, removeBundle } from './workflow-bundle.mjs';

const built = new URL('../../dist/dev/services.js', import.meta.url);

export default async function globalSetup() {
  if (!existsSync(built)) throw new Error('Lifeboat is not built: run `npm test` (it builds first) or `npm run build`');
  const { startEphemeralPostgres, startS3Server, startTemporalDevServer, stopAll } = await import(built.href);
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const started = [];
  // Bundled while the services start; every test worker loads this one bundle.
  const bundling = bundleWorkflows();
  bundling.catch(() => undefined); // reported by the await below, unless a service fails first
  const [temporal, s3, pg] = await Promise.all([
    process.env.LIFEBOAT_TEST_TEMPORAL_ADDRESS
      ? Promise.resolve({ address: process.env.LIFEBOAT_TEST_TEMPORAL_ADDRESS, uiUrl: process.env.LIFEBOAT_TEST_TEMPORAL_UI ?? '' })
      : startTemporalDevServer({}).then((t) => (started.push(`Temporal ${t.address}`), t)),
    process.env.LIFEBOAT_TEST_S3_ENDPOINT
      ? Promise.resolve({
          endpoint: process.env.LIFEBOAT_TEST_S3_ENDPOINT,
          accessKeyId: process.env.LIFEBOAT_TEST_S3_ACCESS_KEY_ID ?? 'test',
          secretAccessKey: process.env.LIFEBOAT_TEST_S3_SECRET_ACCESS_KEY ?? 'test',
          region: 'us-east-1',
        })
      : startS3Server({}).then((s) => (started.push(`S3 ${s.endpoint}`), s)),
    process.env.LIFEBOAT_TEST_PG_URL
      ? Promise.resolve({ url: process.env.LIFEBOAT_TEST_PG_URL })
      : startEphemeralPostgres({}).then((p) => (started.push(`PostgreSQL 127.0.0.1:${p.port}`), { url: p.url('postgres') })),
  ]);
  const bundle = await bundling;
  const services = {
    temporal: { address: temporal.address, uiUrl: temporal.uiUrl },
    s3: { endpoint: s3.endpoint, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, region: s3.region },
    pg: { adminUrl: pg.url },
    workflowBundle: { codePath: bundle.codePath },
  };
  process.env.LIFEBOAT_TEST_SERVICES = JSON.stringify(services);
  globalThis.__lifeboatStop = async () => {
    removeBundle(bundle.codePath);
    await stopAll();
  };
  if (started.length) process.stderr.write(`\ntest services started: ${started.join(', ')}\n`);
  process.stderr.write(`workflows bundled once in ${bundle.ms} ms\n`);
}
