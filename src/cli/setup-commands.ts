// `lifeboat init` (a starter configuration) and `lifeboat doctor` (every configured part checked).
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { configPath } from '../config/load.js';
import type { DoctorCheck } from '../doctor/index.js';
import { buildStarter, maskedUrl } from '../init/starter.js';
import { table } from './format.js';
import { SEARCH_ATTRIBUTE_NAMES } from '../contracts/index.js';
import { registerSearchAttributes } from '../temporal/run-metadata.js';
import { CliExit, EXIT, print, withClient, type ConfigLoader } from './shared.js';

function formatDoctor(checks: DoctorCheck[]): string {
  const mark = { ok: 'ok', warn: 'WARN', fail: 'FAIL' } as const;
  const lines = [
    table(
      ['STATUS', 'PART', 'CHECK', 'DETAIL'],
      checks.map((c) => [mark[c.status], c.part, c.check, c.detail]),
    ),
  ];
  const todo = checks.filter((c) => c.fix);
  if (todo.length) {
    lines.push('', 'To fix:');
    for (const c of todo) lines.push(`  ${c.part} (${c.check}): ${c.fix}`);
  }
  const failed = checks.filter((c) => c.status === 'fail').length;
  lines.push('', failed ? `${failed} check(s) failed.` : 'Everything Lifeboat needs is in place.');
  return lines.join('\n');
}

interface InitOptions {
  url?: string;
  env?: string;
  name?: string;
  storage?: string;
  s3Endpoint?: string;
  s3Region?: string;
  temporalAddress?: string;
  environment?: 'production' | 'staging' | 'development';
  force?: boolean;
}

export function registerSetupCommands(program: Command, config: ConfigLoader): void {
  program
    .command('init')
    .description('write a starter lifeboat.yaml from a database URL (the URL goes in an environment variable, never in the file)')
    .option('--url <url>', 'the database URL (default: read from the variable named by --env)')
    .option('--env <name>', 'environment variable holding the URL (default: <NAME>_DATABASE_URL)')
    .option('--name <name>', 'name of the database in the configuration (default: from the URL)')
    .option('--storage <where>', 's3://bucket/prefix or a directory', './backups')
    .option('--s3-endpoint <url>', 'endpoint of an S3-compatible server')
    .option('--s3-region <region>', 'S3 region', 'us-east-1')
    .option('--temporal-address <host:port>', 'Temporal frontend (default: TEMPORAL_ADDRESS, else 127.0.0.1:7233)')
    .option('--environment <env>', 'production, staging or development', 'production')
    .option('--force', 'overwrite an existing configuration file')
    .action((opts: InitOptions) => {
      const file = configPath(program.opts<{ config?: string }>().config);
      const url = opts.url ?? (opts.env ? process.env[opts.env] : undefined);
      if (!url) throw new CliExit(EXIT.usage, 'Init refused: pass --url <database URL>, or --env NAME with the URL in that environment variable');
      if (existsSync(file) && !opts.force) throw new CliExit(EXIT.usage, `Init refused: ${file} exists (pass --force to overwrite it)`);
      const starter = buildStarter({ ...opts, url });
      writeFileSync(file, starter.yaml, { mode: 0o644 });
      const rel = path.relative(process.cwd(), file) || file;
      const lines = [
        `Wrote ${rel}: database ${starter.name} (${starter.engine}, provider ${starter.provider}), no password in it.`,
        'Set before running Lifeboat:',
      ];
      for (const e of starter.env) lines.push(`  ${e.name}  ${e.holds}${e.name === (opts.env ?? starter.env[0]?.name) ? ` (${maskedUrl(url)})` : ''}`);
      lines.push(`Then check everything: lifeboat -c ${rel} doctor`);
      process.stdout.write(`${lines.join('\n')}\n`);
    });

  program
    .command('register-search-attributes')
    .description(`register ${SEARCH_ATTRIBUTE_NAMES.join(', ')} (Keyword) in the namespace, if missing (idempotent; self-hosted clusters)`)
    .option('--json', 'print a machine-readable result')
    .action((opts: { json?: boolean }) => {
      const cfg = config();
      return withClient(cfg, async (client) => {
        const r = await registerSearchAttributes(client, cfg.temporal.namespace);
        print(opts.json, { namespace: cfg.temporal.namespace, ...r }, () =>
          r.added.length
            ? `Registered in ${cfg.temporal.namespace}: ${r.added.join(', ')}${r.present.length ? ` (already there: ${r.present.join(', ')})` : ''}`
            : `Already registered in ${cfg.temporal.namespace}: ${r.present.join(', ')}`,
        );
      });
    });

  program
    .command('doctor')
    .description('check Temporal, every database, every storage target and scratch space, with the fix for each failure')
    .option('--json', 'print a machine-readable report')
    .action(async (opts: { json?: boolean }) => {
      const { healthy, runDoctor } = await import('../doctor/index.js'); // connects to everything: only this command loads it
      const checks = await runDoctor(config());
      print(opts.json, { ok: healthy(checks), checks }, () => formatDoctor(checks));
      if (!healthy(checks)) throw new CliExit(EXIT.failed, '');
    });
}
