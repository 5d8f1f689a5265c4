import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config/load.js';

// Docker cannot run here, so the Compose stacks are checked statically: against the Compose
// Specification's published JSON schema, for pinned images, and for the secrets the worker needs.
// The schema is the one vendored by the dclint package (byte-identical to compose-spec's
// schema/compose-spec.json; Apache-2.0, see node_modules/dclint/schemas).

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const DEPLOY = path.join(root, 'deploy', 'compose.yaml');
const DEV = path.join(root, 'docker-compose.yml');
const ENV_EXAMPLE = path.join(root, 'deploy', '.env.example');
const SAMPLE_CONFIG = path.join(root, 'deploy', 'lifeboat.yaml');

interface Service {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  command?: string | string[];
  expose?: string[];
  entrypoint?: string | string[];
  environment?: Record<string, string> | string[];
  volumes?: (string | { type?: string; source?: string; target?: string })[];
  depends_on?: string[] | Record<string, unknown>;
}
interface ComposeFile {
  services: Record<string, Service>;
}

function composeSchema(): object {
  const pkg = createRequire(import.meta.url).resolve('dclint/package.json');
  return JSON.parse(readFileSync(path.join(path.dirname(pkg), 'schemas', 'compose.schema.json'), 'utf8')) as object;
}

let validate: ValidateFunction;
beforeAll(() => {
  // Draft-07 with union types, without strict mode for the spec's annotation keywords (e.g.
  // "deprecated"), as dclint does. The spec names its meta-schema by its https address, which
  // Ajv knows by its http one: register the same meta-schema under that name too.
  const ajv = new Ajv({ allErrors: true, strict: false, allowUnionTypes: true });
  const draft7 = JSON.parse(readFileSync(createRequire(import.meta.url).resolve('ajv/dist/refs/json-schema-draft-07.json'), 'utf8')) as Record<string, unknown>;
  ajv.addMetaSchema({ ...draft7, $id: 'https://json-schema.org/draft-07/schema' });
  validate = ajv.compile(composeSchema());
});

function problems(doc: unknown): string[] {
  return validate(doc) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
}

/** `NAME=value` lines of an env file. */
function envFile(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

const INTERPOLATION = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[?-])([^}]*))?\}/g;

/** Variables a compose file interpolates, with whether each is required (`${VAR:?message}`). */
function interpolated(text: string): Map<string, { required: boolean }> {
  const out = new Map<string, { required: boolean }>();
  for (const m of text.matchAll(INTERPOLATION)) {
    const required = m[2] === ':?' || m[2] === '?';
    out.set(m[1]!, { required: required || (out.get(m[1]!)?.required ?? false) });
  }
  return out;
}

/** The file as `docker compose` sees it once `${...}` is replaced with `env`'s values. */
function loadCompose(file: string, env: Record<string, string> = {}): ComposeFile {
  const text = readFileSync(file, 'utf8').replace(INTERPOLATION, (whole, name: string, op?: string, arg?: string) => {
    if (env[name] !== undefined && !(op?.startsWith(':') && env[name] === '')) return env[name]!;
    if (op === ':-' || op === '-') return arg ?? '';
    throw new Error(`${path.relative(root, file)}: ${whole} is not set`);
  });
  return parse(text) as ComposeFile;
}

function environment(s: Service): Record<string, string> {
  if (Array.isArray(s.environment)) {
    return Object.fromEntries(s.environment.map((kv) => [kv.split('=')[0]!, kv.slice(kv.indexOf('=') + 1)]));
  }
  return Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, String(v)]));
}

function bindMounts(s: Service): { source: string; target: string }[] {
  const out: { source: string; target: string }[] = [];
  for (const v of s.volumes ?? []) {
    if (typeof v === 'string') {
      const [source, target] = v.split(':');
      if (source && target && /^[./~]/.test(source)) out.push({ source, target });
    } else if (v.type === 'bind' && v.source && v.target) out.push({ source: v.source, target: v.target });
  }
  return out;
}

/** Pinned: a digest, or a version tag of at least major.minor (not latest/stable/...). */
function pinProblem(image: string): string | undefined {
  if (/@sha256:[0-9a-f]{64}$/.test(image)) return undefined;
  const last = image.split('/').pop()!;
  const colon = last.indexOf(':');
  if (colon < 0) return 'has no tag';
  const tag = last.slice(colon + 1);
  if (/^(latest|stable|edge|nightly|dev|beta|canary|lts|main|master)$/i.test(tag)) return `uses the floating tag "${tag}"`;
  if (!/\d+\.\d+/.test(tag)) return `tag "${tag}" is not a version (expected at least major.minor, e.g. 16.6)`;
  return undefined;
}

function dockerfileFroms(file: string): string[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => /^\s*FROM\s+(?:--platform=\S+\s+)?(\S+)/i.exec(l)?.[1])
    .filter((x): x is string => x !== undefined);
}

/** Every `{ env: NAME }` in a parsed configuration. */
function envRefs(node: unknown, at = '', out: { name: string; at: string }[] = []): { name: string; at: string }[] {
  if (Array.isArray(node)) node.forEach((v, i) => envRefs(v, `${at}[${i}]`, out));
  else if (node !== null && typeof node === 'object') {
    const obj = node as Record<string, unknown>;
    if (Object.keys(obj).length === 1 && typeof obj.env === 'string') out.push({ name: obj.env, at });
    else for (const [k, v] of Object.entries(obj)) envRefs(v, at ? `${at}.${k}` : k, out);
  }
  return out;
}

describe('the Compose Specification schema', () => {
  test('is the published specification schema, and the validator refuses an invalid file', () => {
    expect(composeSchema()).toMatchObject({ title: 'Compose Specification', $id: 'compose_spec.json' });
    const bad = problems({ services: { worker: { image: 5, imag: 'typo:1.0', depends_on: { s3: { condition: 'service_ready' } } } } });
    expect(bad.join('\n')).toMatch(/\/services\/worker\/image must be string/);
    expect(bad.join('\n')).toMatch(/additionalProperty.*imag/);
    expect(bad.join('\n')).toMatch(/condition must be equal to one of the allowed values/);
  });
});

describe.each([
  ['deploy/compose.yaml', DEPLOY],
  ['docker-compose.yml', DEV],
])('%s', (_name, file) => {
  const env = file === DEPLOY ? envFile(ENV_EXAMPLE) : {};

  test('is valid against the Compose Specification (with its variables set)', () => {
    expect(problems(loadCompose(file, env))).toEqual([]);
  });

  test('every image (and every Dockerfile it builds FROM) has a pinned version tag', () => {
    const compose = loadCompose(file, env);
    const found: string[] = [];
    for (const [name, s] of Object.entries(compose.services)) {
      if (s.image !== undefined) found.push(`${name}: ${s.image}${pinProblem(s.image) ? ` ${pinProblem(s.image)}` : ''}`);
      if (s.image === undefined && s.build === undefined) found.push(`${name}: neither image nor build`);
      if (s.build !== undefined) {
        const ctx = path.resolve(path.dirname(file), typeof s.build === 'string' ? s.build : (s.build.context ?? '.'));
        const dockerfile = path.resolve(ctx, typeof s.build === 'string' ? 'Dockerfile' : (s.build.dockerfile ?? 'Dockerfile'));
        expect(existsSync(dockerfile)).toBe(true);
        for (const from of dockerfileFroms(dockerfile)) {
          found.push(`${name} (${path.relative(root, dockerfile)}): ${from}${pinProblem(from) ? ` ${pinProblem(from)}` : ''}`);
        }
      }
    }
    expect(found.length).toBeGreaterThan(0);
    expect(found.filter((f) => / (has no tag|uses the floating tag|is not a version)/.test(f) || f.includes('neither'))).toEqual([]);
  });

  test('bind-mounted files and the scripts the one-shots run exist', () => {
    const compose = loadCompose(file, env);
    for (const [name, s] of Object.entries(compose.services)) {
      const mounts = bindMounts(s);
      for (const m of mounts)
        expect({ service: name, source: m.source, exists: existsSync(path.resolve(path.dirname(file), m.source)) }).toEqual({
          service: name,
          source: m.source,
          exists: true,
        });
      const command = Array.isArray(s.command) ? s.command : [];
      for (const arg of command.filter((a) => a.startsWith('/scripts/'))) {
        const mount = mounts.find((m) => m.target === '/scripts')!;
        expect(mount).toBeDefined();
        const script = path.resolve(path.dirname(file), mount.source, arg.slice('/scripts/'.length));
        expect(() => accessSync(script, constants.R_OK)).not.toThrow();
      }
      const deps = Array.isArray(s.depends_on) ? s.depends_on : Object.keys(s.depends_on ?? {});
      for (const d of deps) expect(Object.keys(compose.services)).toContain(d);
    }
  });

  test('the worker mounts deploy/lifeboat.yaml as its LIFEBOAT_CONFIG and has every { env: NAME } it references', () => {
    const worker = loadCompose(file, env).services.worker!;
    const workerEnv = environment(worker);
    const mount = bindMounts(worker).find((m) => m.target.replace(/:ro$/, '') === workerEnv.LIFEBOAT_CONFIG);
    expect(mount && path.resolve(path.dirname(file), mount.source)).toBe(SAMPLE_CONFIG);
    const refs = envRefs(parse(readFileSync(SAMPLE_CONFIG, 'utf8')));
    expect(refs.map((r) => r.name).sort()).toEqual(['APP_DATABASE_URL', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY']);
    expect(refs.filter((r) => !workerEnv[r.name])).toEqual([]);
  });
});

describe('deploy/compose.yaml secrets', () => {
  const text = readFileSync(DEPLOY, 'utf8');
  const vars = interpolated(text);
  const example = envFile(ENV_EXAMPLE);

  test('every variable it interpolates is required (${VAR:?…}) and listed in deploy/.env.example', () => {
    expect([...vars.keys()].sort()).toEqual(['APP_DATABASE_URL', 'GRAFANA_ADMIN_PASSWORD', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY', 'TEMPORAL_DB_PASSWORD']);
    expect([...vars].filter(([, v]) => !v.required).map(([k]) => k)).toEqual([]);
    expect([...vars.keys()].filter((k) => example[k] === undefined)).toEqual([]);
    // An unset secret stops compose (like `docker compose config` would):
    expect(() => loadCompose(DEPLOY, { ...example, S3_SECRET_ACCESS_KEY: '' })).toThrow(/S3_SECRET_ACCESS_KEY/);
  });

  test("the worker's { env } references come from deploy/.env, not from values in the file", () => {
    const raw = parse(text) as ComposeFile;
    const workerEnv = environment(raw.services.worker!);
    for (const { name } of envRefs(parse(readFileSync(SAMPLE_CONFIG, 'utf8')))) {
      expect(workerEnv[name]).toMatch(new RegExp(`^\\$\\{${name}:\\?[^}]+\\}$`));
    }
  });

  test('no secret is committed: deploy/.env is ignored by git and the example holds placeholders only', () => {
    expect(readFileSync(path.join(root, '.gitignore'), 'utf8').split('\n')).toContain('deploy/.env');
    for (const k of ['TEMPORAL_DB_PASSWORD', 'S3_SECRET_ACCESS_KEY', 'APP_DATABASE_URL', 'GRAFANA_ADMIN_PASSWORD']) expect(example[k]).toMatch(/replace-with/);
  });
});

describe('deploy/compose.yaml metrics', () => {
  test("Prometheus scrapes the worker's observability port, and Grafana gets the dashboard and the data source", () => {
    const compose = loadCompose(DEPLOY, envFile(ENV_EXAMPLE));
    const cfg = loadConfig(SAMPLE_CONFIG);
    expect(cfg.observability).toMatchObject({ enabled: true, bind: '0.0.0.0' });
    const port = cfg.observability!.port;
    expect(compose.services.worker!.expose).toContain(String(port));
    const prom = parse(readFileSync(path.join(root, 'deploy', 'prometheus.yml'), 'utf8')) as {
      scrape_configs: Array<{ static_configs: Array<{ targets: string[] }> }>;
    };
    expect(prom.scrape_configs.flatMap((c) => c.static_configs.flatMap((t) => t.targets))).toEqual([`worker:${port}`]);
    expect(bindMounts(compose.services.prometheus!).map((m) => m.target)).toContain('/etc/prometheus/prometheus.yml');
    const grafana = bindMounts(compose.services.grafana!);
    expect(grafana.find((m) => m.source === './grafana-dashboard.json')?.target).toMatch(/^\/var\/lib\/grafana\/dashboards\//);
    const ds = parse(readFileSync(path.join(root, 'deploy', 'grafana', 'provisioning', 'datasources', 'prometheus.yaml'), 'utf8')) as {
      datasources: Array<{ url: string }>;
    };
    expect(ds.datasources[0]!.url).toBe('http://prometheus:9090');
  });
});

describe('deploy/lifeboat.yaml', () => {
  test('loads with the configuration loader', () => {
    const cfg = loadConfig(SAMPLE_CONFIG);
    expect(cfg.sourcePath).toBe(SAMPLE_CONFIG);
    expect(cfg.storage.primary).toMatchObject({ type: 's3', bucket: 'lifeboat-backups', endpoint: 'http://s3:8333', forcePathStyle: true });
    expect(Object.keys(cfg.databases)).toEqual(['app']);
  });

  test('names the services of deploy/compose.yaml: Temporal, the S3 endpoint and the bucket its one-shot creates', () => {
    const cfg = loadConfig(SAMPLE_CONFIG);
    const compose = loadCompose(DEPLOY, envFile(ENV_EXAMPLE));
    const [temporalHost, temporalPort] = cfg.temporal.address.split(':');
    expect(compose.services[temporalHost!]?.image).toMatch(/^temporalio\/server:/);
    expect(temporalPort).toBe('7233');
    expect(environment(compose.services['temporal-namespace']!).NAMESPACE).toBe(cfg.temporal.namespace);

    const s3 = cfg.storage.primary as { endpoint: string; bucket: string };
    const endpoint = new URL(s3.endpoint);
    const s3Service = compose.services[endpoint.hostname]!;
    expect(s3Service.image).toMatch(/^chrislusf\/seaweedfs:/);
    expect(s3Service.command).toContain(`-s3.port=${endpoint.port}`);
    expect(environment(compose.services['s3-bucket']!)).toMatchObject({ BUCKET: s3.bucket, S3_ENDPOINT: s3.endpoint });
  });
});
