import { optionValue } from './option-file.js';
import type { Flavour, MysqlPreset, MysqlServerInfo, MysqlTool } from './types.js';

export type DumpKind = 'full' | 'schema' | 'data';

export interface DumpPlanInput {
  preset: MysqlPreset;
  server: Pick<MysqlServerInfo, 'flavour' | 'major' | 'minor' | 'logBin' | 'vitess'>;
  tool: Pick<MysqlTool, 'flavour' | 'major'>;
  kind: DumpKind;
  database: string;
  optionFile: string;
}

export interface DumpPlan {
  args: string[];
  /** Lines for the tool's own group of the option file (`[mysqldump]`). */
  optionLines: string[];
  /** How the binary log position is recorded: in the dump header (exact) or not at all. */
  positionInDump: boolean;
  notes: string[];
}

/**
 * The arguments of a dump, by flavour, provider and kind. Always: the option file first (it holds
 * the connection and password), one consistent snapshot without locks (`--single-transaction`),
 * rows streamed (`--quick`), binary columns as hex, utf8mb4, no tablespaces (needs PROCESS).
 * Routines, triggers and events with the schema unless the provider rejects them; the MariaDB
 * binary log position of the snapshot (lock-free there) when the binary log is on.
 */
export function planDump(input: DumpPlanInput): DumpPlan {
  const { preset, server, tool, kind } = input;
  if (input.database === '' || input.database.startsWith('-')) throw new Error(`database name "${input.database}" cannot be dumped by name`);
  const args = [
    `--defaults-extra-file=${input.optionFile}`,
    '--single-transaction',
    '--quick',
    '--hex-blob',
    '--default-character-set=utf8mb4',
    '--no-tablespaces',
    '--max-allowed-packet=1G',
  ];
  const notes: string[] = [];
  if (kind === 'schema') args.push('--no-data');
  if (kind === 'data') args.push('--no-create-info', '--skip-triggers', '--complete-insert');
  if (kind !== 'data') {
    if (preset.programs) args.push('--routines', '--events', '--triggers');
    else {
      args.push('--skip-triggers');
      notes.push(`routines, triggers and events are not dumped (${preset.provider} rejects them)`);
    }
  }
  if (preset.noLocking) args.push('--skip-lock-tables', '--skip-add-locks');
  let positionInDump = false;
  if (server.flavour === 'mariadb' && server.logBin && !preset.noLocking) {
    // MariaDB reads the position of the snapshot itself (binlog_snapshot_*): no global read lock.
    args.push('--master-data=2', '--gtid');
    positionInDump = true;
  }
  if (tool.flavour === 'mysql') {
    // Restores into servers with their own GTID history (every verification) cannot take GTID_PURGED.
    args.push('--set-gtid-purged=OFF');
    if (tool.major >= 8 && (server.vitess || server.major < 8)) args.push('--column-statistics=0');
  }
  const optionLines = preset.dumpInitCommand ? [`loose-init-command=${optionValue(preset.dumpInitCommand)}`] : [];
  args.push(input.database);
  return { args, optionLines, positionInDump, notes };
}

/** Dump tool name for a flavour, for commands shown to people. */
export function dumpToolName(flavour: Flavour): string {
  return flavour === 'mariadb' ? 'mariadb-dump' : 'mysqldump';
}
