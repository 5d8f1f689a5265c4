// Helpers of the MySQL engine tests: the ephemeral MariaDB, a dump and restore pipeline built from
// the engine's commands (dump | observe | zstd > file; zstd -dc file | filter | client), content
// checksums and a /proc sampler that looks for a secret in every process's argv and environment.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, readdirSync, readFileSync } from 'node:fs';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import mysql from 'mysql2/promise';
import { pino } from 'pino';
import type { MariadbServer } from '../../dev/mariadb.js';
import type { PreparedDump, PreparedRestore } from '../../src/engines/mysql/index.js';
import type { ExitInfo } from '../../src/pipeline/process.js';
import { quoteIdent } from '../../src/engines/mysql/index.js';

export const silentLog = pino({ level: 'silent' });

export async function adminClient(server: MariadbServer, database?: string): Promise<mysql.Connection> {
  return mysql.createConnection({
    host: server.host,
    port: server.port,
    user: server.user,
    password: server.password,
    database,
    charset: 'utf8mb4',
    multipleStatements: false,
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
  });
}

export async function createDb(server: MariadbServer, name: string, fill?: (c: mysql.Connection) => Promise<void>): Promise<void> {
  const c = await adminClient(server);
  await c.query(`CREATE DATABASE ${quoteIdent(name)} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  await c.changeUser({ database: name });
  try {
    if (fill) await fill(c);
  } finally {
    await c.end();
  }
}

/** A failed tool run; `exit` is what the engine's `classifyFailure` takes. */
export class ToolRunError extends Error {
  constructor(readonly exit: ExitInfo) {
    super(`${exit.tool} exited with ${exit.exitCode ?? exit.signal}: ${exit.stderr.slice(-2000)}`);
  }
}

function waitExit(child: ReturnType<typeof spawn>, what: string, stderr: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) =>
      code === 0
        ? resolve()
        : reject(new ToolRunError({ tool: what, ok: false, exitCode: code ?? undefined, signal: signal ?? undefined, stderr: stderr.join('') })),
    );
  });
}

/** Runs the prepared dump through `observe` and `zstd` into `file`; rejects with the tool's stderr on failure. */
export async function runDump(dump: PreparedDump, file: string): Promise<void> {
  const child = spawn(dump.command.file, dump.command.args, { env: dump.command.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const zstd = spawn('zstd', ['-q', '-1', '-c'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const errs: string[] = [];
  child.stderr!.on('data', (d: Buffer) => errs.push(d.toString()));
  const tap = new Transform({
    transform(chunk: Buffer, _e, done) {
      dump.observe(chunk);
      done(null, chunk);
    },
  });
  const exits = Promise.all([waitExit(child, dump.command.tool, errs), waitExit(zstd, 'zstd', [])]);
  await Promise.all([pipeline(child.stdout!, tap, zstd.stdin!), pipeline(zstd.stdout!, createWriteStream(file)), exits]);
}

/** Decompresses `file` through `filters` into the prepared restore client; rejects with its stderr on failure. */
export async function runRestore(restore: PreparedRestore, file: string, filters: Transform[] = []): Promise<{ stderr: string }> {
  const unzstd = spawn('zstd', ['-q', '-d', '-c', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  const client = spawn(restore.command.file, restore.command.args, { env: restore.command.env, stdio: ['pipe', 'pipe', 'pipe'] });
  const errs: string[] = [];
  client.stderr!.on('data', (d: Buffer) => errs.push(d.toString()));
  client.stdout!.resume();
  const exited = waitExit(client, restore.command.tool, errs);
  const streams: Array<Readable | Transform | NodeJS.WritableStream> = [unzstd.stdout!, ...filters, client.stdin!];
  const piped = (pipeline as (...s: unknown[]) => Promise<void>)(...streams).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err; // the client stopped reading: its exit says why
  });
  await Promise.all([piped, exited]);
  return { stderr: errs.join('') };
}

/** SHA-256 over every row of `table` ordered by all columns, binary values as hex. */
export async function tableDigest(c: mysql.Connection, database: string, table: string): Promise<{ rows: number; sha256: string }> {
  const [cols] = await c.query<mysql.RowDataPacket[]>(
    'SELECT COLUMN_NAME AS n FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION',
    [database, table],
  );
  const list = cols.map((r) => `HEX(${quoteIdent(String(r.n))})`).join(', ');
  const [rows] = await c.query({
    sql: `SELECT ${list} FROM ${quoteIdent(database)}.${quoteIdent(table)} ORDER BY ${cols.map((_, i) => i + 1).join(', ')}`,
    rowsAsArray: true,
  });
  const h = createHash('sha256');
  for (const r of rows as unknown[][]) h.update(`${JSON.stringify(r)}\n`);
  return { rows: (rows as unknown[]).length, sha256: h.digest('hex') };
}

/** `CHECKSUM TABLE ... EXTENDED` of each table. */
export async function checksumTables(c: mysql.Connection, database: string, tables: string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const t of tables) {
    const [r] = await c.query<mysql.RowDataPacket[]>(`CHECKSUM TABLE ${quoteIdent(database)}.${quoteIdent(t)} EXTENDED`);
    out[t] = String(r[0]!.Checksum);
  }
  return out;
}

/** Definitions of routines, triggers, events and views, without the database name. */
export async function programDefinitions(c: mysql.Connection, database: string): Promise<Record<string, string>> {
  const q = async (sql: string) => (await c.query<mysql.RowDataPacket[]>(sql, [database]))[0];
  const out: Record<string, string> = {};
  for (const r of await q(
    'SELECT ROUTINE_TYPE AS t, ROUTINE_NAME AS n, ROUTINE_DEFINITION AS d, DTD_IDENTIFIER AS r, IS_DETERMINISTIC AS det FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ?',
  )) {
    out[`${r.t}:${r.n}`] = `${r.d} returns ${r.r} deterministic ${r.det}`;
  }
  for (const r of await q(
    'SELECT TRIGGER_NAME AS n, EVENT_OBJECT_TABLE AS tb, ACTION_TIMING AS ti, EVENT_MANIPULATION AS m, ACTION_STATEMENT AS s FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ?',
  )) {
    out[`TRIGGER:${r.n}`] = `${r.ti} ${r.m} ON ${r.tb}: ${r.s}`;
  }
  for (const r of await q(
    'SELECT EVENT_NAME AS n, EVENT_DEFINITION AS d, INTERVAL_VALUE AS iv, INTERVAL_FIELD AS f, STATUS AS s, STARTS AS st FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ?',
  )) {
    out[`EVENT:${r.n}`] = `${r.d} every ${r.iv} ${r.f} ${r.s} from ${r.st}`;
  }
  for (const r of await q('SELECT TABLE_NAME AS n, VIEW_DEFINITION AS d FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ?')) {
    out[`VIEW:${r.n}`] = String(r.d).split(`\`${database}\`.`).join('');
  }
  return out;
}

/**
 * Samples every process's argv (and the environment of processes running `tools`) every few ms
 * until stopped; returns what it saw: the number of samples and processes holding `secret`.
 */
export function procSampler(secret: string, tools: string[]): { stop(): { samples: number; toolProcesses: number; leaks: string[] } } {
  let samples = 0;
  let toolProcesses = 0;
  const leaks: string[] = [];
  const seen = new Set<string>();
  const needle = Buffer.from(secret, 'utf8');
  const tick = () => {
    samples++;
    for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
      let raw: Buffer;
      try {
        raw = readFileSync(`/proc/${pid}/cmdline`);
      } catch {
        continue;
      }
      const exe = raw.toString('utf8').split('\0')[0] ?? '';
      if (raw.includes(needle)) leaks.push(`argv of ${pid}: ${exe}`);
      if (tools.some((t) => exe.endsWith(`/${t}`) || exe === t)) {
        if (!seen.has(pid)) toolProcesses++;
        seen.add(pid);
        try {
          if (readFileSync(`/proc/${pid}/environ`).includes(needle)) leaks.push(`environment of ${pid}: ${exe}`);
        } catch {
          /* gone */
        }
      }
    }
  };
  const timer = setInterval(tick, 15);
  return {
    stop() {
      clearInterval(timer);
      tick();
      return { samples, toolProcesses, leaks };
    },
  };
}

export async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}
