// The `lifeboat` command: assembles the command groups; what they share is in ./shared.ts.
import { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import type { LifeboatConfig } from '../config/schema.js';
import { LIFEBOAT_VERSION } from '../version.js';
import { registerBackupCommands } from './backup-commands.js';
import { registerObserveCommands } from './observe-commands.js';
import { registerPitrCommands } from './pitr-commands.js';
import { registerRestoreCommands } from './restore-commands.js';
import { registerRetentionCommands } from './retention-commands.js';
import { registerRunbookCommands } from './runbook-commands.js';
import { registerScheduleCommands } from './schedule-commands.js';
import { registerSetupCommands } from './setup-commands.js';
import { EXIT, exitFor } from './shared.js';

export function buildProgram(): Command {
  const program = new Command('lifeboat')
    .description('Database backups, verify-by-test-restore and DR runbooks on Temporal')
    .version(LIFEBOAT_VERSION)
    .option('-c, --config <file>', 'configuration file (default: $LIFEBOAT_CONFIG or ./lifeboat.yaml)')
    .showHelpAfterError()
    .exitOverride();

  const config = (): LifeboatConfig => loadConfig(program.opts<{ config?: string }>().config);
  registerBackupCommands(program, config);
  registerRestoreCommands(program, config);
  registerScheduleCommands(program, config);
  registerRetentionCommands(program, config);
  registerRunbookCommands(program, config);
  registerSetupCommands(program, config);
  registerObserveCommands(program, config);
  registerPitrCommands(program, config);
  return program;
}

/** Runs the CLI; returns the process exit code (0 success, 1 the operation failed, 2 bad usage or configuration). */
export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return EXIT.ok;
  } catch (err) {
    const { code, message } = exitFor(err);
    if (message) process.stderr.write(`${message}\n`);
    return code;
  }
}
