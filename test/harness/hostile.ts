// Hostile inputs for property tests and real-server checks: every workflow's input schema with a
// valid input, and fast-check arbitraries of wrong types, huge strings, `../`, SQL and shell
// metacharacters and unicode tricks.
import fc from 'fast-check';
import type { z } from 'zod';
import {
  ApplyRetentionInputSchema,
  ArchiveCheckInputSchema,
  BackupInputSchema,
  BaseBackupInputSchema,
  CopyBackupInputSchema,
  PitrRestoreInputSchema,
  PurgeInputSchema,
  RestoreInputSchema,
  RestorePointInputSchema,
  RunbookInputSchema,
  VerifyInputSchema,
  VerifyRecoveryPointInputSchema,
  WatchInputSchema,
  type WORKFLOWS,
} from '../../src/contracts/index.js';

/** Every workflow's input schema, with a valid input to mutate. */
export const WORKFLOW_INPUTS: Record<keyof typeof WORKFLOWS, { schema: z.ZodType; valid: Record<string, unknown> }> = {
  backupDatabase: { schema: BackupInputSchema, valid: { database: 'orders', kind: 'full' } },
  copyBackup: { schema: CopyBackupInputSchema, valid: { database: 'orders', backupId: '20261123T020000Z-full-1a2b3c4d' } },
  restoreDatabase: { schema: RestoreInputSchema, valid: { database: 'orders', backup: 'latest', target: 'orders_restore' } },
  verifyBackup: { schema: VerifyInputSchema, valid: { database: 'orders', backup: 'latest' } },
  applyRetention: { schema: ApplyRetentionInputSchema, valid: { database: 'orders', dryRun: true } },
  purgeBackups: { schema: PurgeInputSchema, valid: { database: 'orders', reason: 'GDPR request 42', requestedBy: 'alice', before: '2026-11-01T00:00:00Z' } },
  runRunbook: { schema: RunbookInputSchema, valid: { runbook: 'provider-outage', drill: true, database: 'orders' } },
  baseBackup: { schema: BaseBackupInputSchema, valid: { database: 'orders', maxRate: '50M' } },
  pointInTimeRestore: { schema: PitrRestoreInputSchema, valid: { database: 'orders', toTime: '2026-11-23T02:00:00Z' } },
  checkWalArchive: { schema: ArchiveCheckInputSchema, valid: { database: 'orders' } },
  verifyRecoveryPoint: { schema: VerifyRecoveryPointInputSchema, valid: { database: 'orders', toTime: '2026-11-23T02:00:00Z' } },
  createRestorePoint: { schema: RestorePointInputSchema, valid: { database: 'orders', name: 'before-migration-42' } },
  watchDatabase: { schema: WatchInputSchema, valid: { database: 'orders' } },
};

export const TRICKS = [
  '../',
  '../../etc/passwd',
  'orders/../../x',
  '..',
  '/abs/path',
  "x'; drop table users; --",
  'x"; select pg_sleep(10); --',
  '$(touch /tmp/pwned)',
  '`id`',
  'a; rm -rf /',
  'a | cat',
  'a && b',
  '%00',
  'a\u0000b',
  'a\nb',
  '\u202eevil',
  'o\u0301rders',
  'ｏｒｄｅｒｓ',
  '\uFEFForders',
  'İ',
  '🚀',
  ' orders',
  '',
];

export const hostileString = fc.oneof(
  fc.constantFrom(...TRICKS),
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.tuple(fc.constantFrom('orders', 'a'), fc.constantFrom(...TRICKS)).map(([a, b]) => a + b),
  fc.integer({ min: 64, max: 1 << 20 }).map((n) => 'a'.repeat(n)),
);

export const hostileValue = fc.oneof(
  hostileString,
  fc.anything({ maxDepth: 2 }),
  fc.constantFrom(null, undefined, 0, -1, 1e308, Number.NaN, true, [], {}, [['x']], { __proto__: { database: 'x' } }),
);

/** A valid input with one field replaced (or added) by a hostile value, or a hostile value outright. */
export function hostileInput(valid: Record<string, unknown>) {
  return fc.oneof(
    fc.tuple(fc.constantFrom(...Object.keys(valid), 'extra', 'constructor'), hostileValue).map(([k, v]) => ({ ...valid, [k]: v })),
    hostileValue,
  );
}

/** No path separator, never `.` or `..`, no quote, space, control or shell character. */
