// age as a child process: encryption needs recipients (public) only; decryption reads identities
// from 0600 files in a private temporary directory that is removed when age has exited.
import { decryptFilter, startChild, filterFailure, type Filter } from './filter.js';
import { LifeboatError } from '../errors.js';

/** `age --encrypt` to `recipients` (as `age -r` takes them) as a stream filter; binary output. */
export function ageEncryptFilter(opts: { recipients: string[]; label: string; signal: AbortSignal }): Filter {
  const child = startChild({ tool: 'age', args: ['--encrypt', ...opts.recipients.flatMap((r) => ['--recipient', r])] }, opts.signal);
  const what = `Encryption of ${opts.label}`;
  const done = child.exit.then((exit) => {
    if (exit.ok) return;
    throw exit.canceled ? new LifeboatError('CANCELLED', `${what} cancelled`) : filterFailure(exit, 'ENCRYPT_FAILED', what);
  });
  done.catch(() => undefined);
  return { input: child.input, output: child.output, done };
}

/** `age --decrypt` with identity files made from `identities` (file contents: age keys or SSH keys). */
export function ageDecryptFilter(opts: { identities: string[]; label: string; signal: AbortSignal }): Filter {
  return decryptFilter({
    ...opts,
    prefix: 'lb-age-',
    prepare: async (dir) => {
      const files: string[] = [];
      for (const [i, text] of opts.identities.entries()) files.push(await dir.write(`identity-${i}`, text.endsWith('\n') ? text : `${text}\n`));
      return { tool: 'age', args: ['--decrypt', ...files.flatMap((f) => ['--identity', f])] };
    },
  });
}
