import type { Writable } from 'node:stream';
// The engine interface: what backup, restore and verify need from a database engine. PostgreSQL
// implements it in ./postgres/; the callers (src/backup, src/restore) only see these types.
import type { BackupKind, PrivilegeMode, RestoreMode } from '../contracts/index.js';
import type { ENGINES } from '../config/schema.js';
import type { LifeboatError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { DumpCommand } from '../pipeline/dump-chain.js';
import type { ExitInfo } from '../pipeline/process.js';
import type { Provider, ProviderPreset } from './providers.js';

export type EngineId = (typeof ENGINES)[number];

/** How an artifact is written: `pg_dump-custom` or `pg_dump-directory` (read by `pg_restore`), or plain `sql` (`mysql`, `psql`). */
export type ArtifactFormat = 'pg_dump-custom' | 'pg_dump-directory' | 'sql';

/** Connection settings parsed from a URL. The password stays in memory only. */
export interface Connection {
  engine: EngineId;
  host: string;
  port: number;
  user: string;
  database: string;
  /** Reaches a tool only through a 0600 file (passfile, `--defaults-extra-file`), never argv. */
  password?: string;
  /** TLS mode in libpq's words (disable, allow, prefer, require, verify-ca, verify-full); other engines map it. */
  sslmode?: string;
  sslrootcert?: string;
  preset: ProviderPreset;
}

/** What the engine's probe found about a server. */
export interface ServerInfo {
  /** `16.4`, `10.11.6`. */
  version: string;
  major: number;
  /** `postgresql`, later `mysql` or `mariadb`. */
  flavour: string;
  /** Size of the database on disk: an estimate of the dump's size, never a promise. */
  sizeBytes?: number;
}

/** A client tool found on the worker, with the version it reported. */
export interface Tool {
  name: string;
  path: string;
  version: string;
  major: number;
}

/** A table as the manifest's row counts name it: `schema.name` (an engine without schemas uses `''`). */
export interface TableRef {
  schema: string;
  name: string;
}

export function tableKey(t: TableRef): string {
  return t.schema ? `${t.schema}.${t.name}` : t.name;
}

export interface DumpRequest {
  /** The database's name in the configuration (messages, the server session's name). */
  label: string;
  kind: BackupKind;
  /** Count every table's rows in the dump's snapshot. */
  rowCounts: boolean;
  toolsDir?: string;
  /** Names the dump's session on the server (PostgreSQL `application_name`). */
  session: string;
  /** Dump into a directory with this many parallel jobs (PostgreSQL `pg_dump -Fd -j`) instead of one stream. */
  directoryJobs?: number;
}

/** A replication position the dump is consistent with (MySQL GTID set or binlog file and offset). */
export interface ReplicationPosition {
  /** `gtid` (value: the GTID set or MariaDB GTID position) or `binlog` (value: `file:offset`). */
  kind: string;
  value: string;
  /** `file:offset` beside a GTID position. */
  binlog?: string;
  /** True when read in the dump's own snapshot; false when read just before the dump started. */
  exact?: boolean;
}

/** A definition that changed while the dump ran (DDL is not isolated by a consistent snapshot). */
export interface SchemaChange {
  object: string;
  change: 'created' | 'dropped' | 'altered';
}

export interface DumpOutcome {
  rowCounts: Record<string, number> | null;
  /** `same-snapshot`: counted in the very snapshot the dump read; `separate-snapshot`: close to it only. */
  consistency: 'same-snapshot' | 'separate-snapshot';
  /** `snapshot-query`: `COUNT(*)` in the dump's snapshot; `dump-rows`: the rows the artifact's INSERT statements hold. */
  counted?: 'snapshot-query' | 'dump-rows';
  position?: ReplicationPosition;
  /** Definitions that changed while the dump ran; empty or absent when none did. */
  schemaChanges?: SchemaChange[];
  /** What the manifest should say about the dump (DDL seen, what a provider made the engine leave out). */
  warnings?: string[];
}

/**
 * A dump ready to run: the server is probed, a tool of a matching version picked, the consistent
 * snapshot opened and credentials written to a private file. `close()` must always be called.
 */
export interface PreparedDump {
  /** Run by the backup pipeline; its complete environment is `command.env`. */
  command: DumpCommand;
  format: ArtifactFormat;
  /** Artifact file extension before compression: `.dump`, `.sql`; `.dir` for a directory dump. */
  extension: string;
  /** Set for a directory dump: the command writes into the directory given with `--file=` (the pipeline appends it). */
  directory?: { jobs: number };
  tool: Tool;
  server: ServerInfo;
  /** Turns the tool's failed exit into a classified error (auth, missing database, version, dump). */
  classifyFailure(exit: ExitInfo): LifeboatError;
  /** Options to create a restore target like the dumped database (its character set), for the manifest. */
  createOptions?: string[];
  /** Sees every raw chunk of the dump before compression (an engine reading its own dump; forces the Node path). */
  observe?: (chunk: Buffer) => void;
  /** Called once the dump tool has been started (an engine may start counting, or release a lock). */
  started(): void;
  /** After the tool exited with 0: row counts taken in the dump's snapshot, and its position. */
  finish(): Promise<DumpOutcome>;
  /** Releases the snapshot and removes credential files; safe to call more than once. */
  close(): Promise<void>;
}

/** A dump of the server's roles (no passwords), or why there is none: a provider may not permit it. */
export type RolesDump = { status: 'dumped'; sql: string; tool: { name: string; version: string } } | { status: 'not-permitted' | 'failed'; reason: string };

/** A database on a target server, as Lifeboat's ownership marker describes it. */
export interface DatabaseState {
  exists: boolean;
  /** The marker a database carries (`lifeboat:<purpose>:<owner>...`), null when it has none. */
  marker: string | null;
}

/** A session on a target server (a maintenance database): creates, marks and drops databases. */
export interface ServerSession {
  readonly server: ServerInfo;
  describe(database: string): Promise<DatabaseState>;
  /**
   * Creates an empty database with the artifact's options (encoding, locale) and marks it.
   * Returns notes, e.g. that the server refused the options and its defaults were used.
   */
  create(database: string, options: string[], marker: string): Promise<string[]>;
  mark(database: string, marker: string): Promise<void>;
  /** Drops the database (ends its sessions); succeeds when it is already gone. */
  drop(database: string): Promise<void>;
  /** Ends the other sessions on `database` (before a restore in place); returns how many. */
  endSessions?(database: string): Promise<number>;
  /**
   * Restore-and-swap: closes `current` to new sessions, ends its sessions, then renames it to
   * `keepAs` and `incoming` to `current` in one transaction, waiting at most `lockTimeoutMs` for a
   * lock. Absent where databases cannot be renamed (the restore then writes in place).
   */
  swap?(current: string, incoming: string, keepAs: string, lockTimeoutMs: number): Promise<{ terminated: number }>;
  close(): Promise<void>;
}

/** A session on one database: tables, row counts, contents, read-only checks. */
export interface DatabaseSession {
  /** Tables the dump tool dumps (no catalogs, extension members or partitioned parents). */
  listTables(): Promise<TableRef[]>;
  /** The tables holding the rows of `tables` (a partitioned table stands for its partitions). */
  leafTables(tables: TableRef[]): Promise<TableRef[]>;
  countRows(tables: TableRef[]): Promise<Record<string, number>>;
  /** How many user objects (tables, functions, schemas) the database holds. */
  userObjects(): Promise<number>;
  /** Identifies server and database, to recognise the source under another name or address. */
  identity(): Promise<string | undefined>;
  /** Runs `sql` read-only with a statement timeout; returns the first column of the first row. */
  check(sql: string, timeoutMs: number): Promise<unknown>;
  close(): Promise<void>;
}

export interface RestorePlanRequest {
  tool: Tool;
  /** The decompressed artifact, checksum already proven. */
  file: string;
  /** A private directory for list files. */
  workDir: string;
  mode: RestoreMode;
  tables?: string[];
  /**
   * `new`: into a database this restore creates (parallel; dropped again on failure).
   * `existing`: in one transaction, replacing the artifact's objects, so a failure changes nothing.
   */
  into: 'new' | 'existing';
  /** The target database (its provider's restore constraints become the plan's notes). */
  target?: Connection;
  /** What the manifest says about the dump: its kind and the create options recorded with it. */
  dumped?: {
    kind: BackupKind;
    createOptions?: string[];
    /** The provider preset the backup was taken with (`supabase`). */
    provider?: string;
    /** Schemas the preset left out of the dump (the provider's managed schemas). */
    excludedSchemas?: string[];
  };
  label: string;
  signal?: AbortSignal;
}

export interface RestoreProgress {
  /** Artifact items processed so far. */
  items: number;
  /** The last step the restore tool reported. */
  step?: string;
}

export interface RestoreRun {
  privileges: PrivilegeMode;
  jobs: number;
  signal?: AbortSignal;
  onProgress?: (p: RestoreProgress) => void;
}

/** What a restore of one artifact needs, read from the artifact before the target is touched. */
export interface RestorePlan {
  /** Options to create a new target database with (the dumped database's encoding and locale). */
  createOptions: string[];
  /** With mode `tables`: the requested tables as found in the artifact. */
  tables?: TableRef[];
  /** What the target's provider asks of a restore (shown with the result). */
  notes?: string[];
  /** Runs the restore into `conn`'s database; credentials only through a private file. Returns what it adapted to the target. */
  run(conn: Connection, opts: RestoreRun): Promise<void | { notes?: string[] }>;
}

/** A full restore into a new database read from a stream, with no local file (`Engine.restoreStream`). */
export interface StreamRestoreRequest extends Omit<RestoreRun, 'jobs'> {
  tool: Tool;
  conn: Connection;
  /**
   * Called once the tool runs, with its standard input, into which the caller writes the
   * decompressed artifact (or hands its descriptor to the decompressor); its end ends the restore.
   */
  onStdin: (stdin: Writable) => void;
  label: string;
}

/**
 * A database engine. Backup, restore and verification call only this: connection parsing,
 * the dump (version probe, tool match, snapshot, row counts), target servers and databases,
 * the restore command per mode, and error classification.
 */
/** What `lifeboat doctor` learns from a database: its server, the dump tool chosen for it, what it cannot read. */
export interface EngineProbe {
  server: ServerInfo;
  tool: Tool;
  /** Tables or sequences the configured role cannot read (a backup would fail on them); at most 20. */
  unreadable: string[];
}

export interface Engine {
  readonly id: EngineId;
  /** Human name for messages: `PostgreSQL`. */
  readonly name: string;
  /** Artifact formats this engine restores. */
  readonly formats: readonly ArtifactFormat[];
  /** Parses a connection URL; `label` names it in errors (`connection URL databases.orders.url`), never the URL itself. */
  parseUrl(url: string, provider?: Provider, label?: string): Connection;
  /** A copy of the connection pointing at another database on the same server. */
  withDatabase(conn: Connection, database: string): Connection;
  /**
   * Why `database` may never be a restore target (`refuse`), or why restoring into it needs an
   * approval (`caution`), as a clause after the name: `is a template database`.
   */
  targetRules(database: string): { refuse?: string; caution?: string };
  prepareDump(conn: Connection, req: DumpRequest, log: Logger): Promise<PreparedDump>;
  /** Connects to `conn`'s database; DATABASE_NOT_FOUND when it does not exist. */
  openDatabase(conn: Connection, label: string): Promise<DatabaseSession>;
  /** Connects to a maintenance database of `conn`'s server other than `avoid` (the one to create or drop). */
  openServer(conn: Connection, avoid: string, label: string): Promise<ServerSession>;
  /** A restore tool able to read what `dumpedWith` wrote and talk to `server`; TOOL_TOO_OLD otherwise. */
  restoreTool(server: ServerInfo, dumpedWith: { name: string; version: string }, label: string, toolsDir?: string): Promise<Tool>;
  planRestore(req: RestorePlanRequest): Promise<RestorePlan>;
  /** Restores a whole artifact of `format` into a new database from a stream; absent when the engine cannot. */
  restoreStream?(req: StreamRestoreRequest): Promise<void>;
  /** Connects, reads the server version, picks the dump tool and lists what the role cannot read (doctor). */
  probe?(conn: Connection, label: string, toolsDir?: string): Promise<EngineProbe>;
  /** Dumps the server's roles apart from the database (no passwords); never throws for a refusal. */
  dumpRoles?(conn: Connection, label: string, serverMajor: number, toolsDir?: string): Promise<RolesDump>;
  /** Creates the roles of a roles dump that `conn`'s server lacks and applies their attributes; returns notes. */
  restoreRoles?(conn: Connection, sql: string, label: string): Promise<string[]>;
  /** Maps a driver error to a Lifeboat error naming `subject` (never a URL or password). */
  classifyError(err: unknown, subject: string, action: string): LifeboatError;
}
