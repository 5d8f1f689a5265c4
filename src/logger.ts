import { pino, type DestinationStream, type Logger } from 'pino';
import { redactSecrets } from './config/secrets.js';

export type { Logger } from 'pino';

/** Field names that never reach a log line, wherever they appear. */
const REDACT_PATHS = [
  'password',
  '*.password',
  'url',
  '*.url',
  'connectionString',
  '*.connectionString',
  'secretAccessKey',
  '*.secretAccessKey',
  'sessionToken',
  '*.sessionToken',
  'apiKey',
  '*.apiKey',
  'env.PGPASSWORD',
  'env.MYSQL_PWD',
];

/**
 * A JSON logger. Known secret fields are censored, and every line is scrubbed of any secret value
 * resolved in this process (see `registerSecret`), wherever it appears.
 */
export function createLogger(options: { level?: string; destination?: DestinationStream; name?: string } = {}): Logger {
  return pino(
    {
      name: options.name ?? 'lifeboat',
      level: options.level ?? process.env.LIFEBOAT_LOG_LEVEL ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '***' },
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      hooks: { streamWrite: (line: string) => redactSecrets(line) },
    },
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
