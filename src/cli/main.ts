// The `lifeboat` command: assembles the command groups; what they share is in ./shared.ts. Only the
// group of the command being run is loaded (all of them for help or an unknown command), so a
// command does not pay for the modules of the others.
import { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import type { LifeboatConfig } from '../config/schema.js';
import { LIFEBOAT_VERSION } from '../version.js';
import { EXIT, exitFor, type ConfigLoader } from './shared.js';

type Register = (program: Command, config: ConfigLoader) => void;

/** The top-level commands of each group, and how to load the group. */
export const COMMAND_GROUPS: { commands: string[]; load: () => Promise<Register> }[] = [
  { commands: ['codec-server', 'worker', 'backup', 'backups'], load: async () => (await import('./backup-commands.js')).registerBackupCommands },
  { commands: ['restore', 'approve-restore', 'verify'], load: async () => (await import('./restore-commands.js')).registerRestoreCommands },
  { commands: ['schedules'], load: async () => (await import('./schedule-commands.js')).registerScheduleCommands },
  { commands: ['prune', 'purge', 'catalog'], load: async () => (await import('./retention-commands.js')).registerRetentionCommands },
  { commands: ['runbook', 'drills'], load: async () => (await import('./runbook-commands.js')).registerRunbookCommands },
  { commands: ['init', 'doctor', 'register-search-attributes'], load: async () => (await import('./setup-commands.js')).registerSetupCommands },
  { commands: ['status', 'audit'], load: async () => (await import('./observe-commands.js')).registerObserveCommands },
  {
    commands: ['base-backup', 'restore-point', 'verify-point', 'archive-check', 'pitr-retention', 'wal-push', 'wal-fetch'],
    load: async () => (await import('./pitr-commands.js')).registerPitrCommands,
  },
];

/** The command named on the command line (the first word that is not an option or `--config`'s value). */
export function commandName(argv: string[]): string | undefined {
  const args = argv.slice(2);
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '-c' || a === '--config') i++;
    else if (!a.startsWith('-')) return a;
  }
  return undefined;
}

/** The program with the group of `argv`'s command registered (every group when `argv` is omitted, names none, or names an unknown one). */
export async function buildProgram(argv?: string[]): Promise<Command> {
  const program = new Command('lifeboat')
    .description('Database backups, verify-by-test-restore and DR runbooks on Temporal')
    .version(LIFEBOAT_VERSION)
    .option('-c, --config <file>', 'configuration file (default: $LIFEBOAT_CONFIG or ./lifeboat.yaml)')
    .showHelpAfterError()
    .exitOverride();

  const config = (): LifeboatConfig => loadConfig(program.opts<{ config?: string }>().config);
  const name = argv ? commandName(argv) : undefined;
  const named = COMMAND_GROUPS.filter((g) => name !== undefined && g.commands.includes(name));
  const groups = named.length ? named : COMMAND_GROUPS;
  for (const g of groups) (await g.load())(program, config);
  return program;
}

/** Runs the CLI; returns the process exit code (0 success, 1 the operation failed, 2 bad usage or configuration). */
export async function main(argv: string[]): Promise<number> {
  try {
    await (await buildProgram(argv)).parseAsync(argv);
    return EXIT.ok;
  } catch (err) {
    const { code, message } = exitFor(err);
    if (message) process.stderr.write(`${message}\n`);
    return code;
  }
}
