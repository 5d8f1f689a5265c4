// GnuPG as a child process: keys are read and used in a temporary GNUPGHOME (0700) that is
// removed afterwards, so the operator's keyring is never touched and no key outlives the run.
import { readFile } from 'node:fs/promises';
import { execa } from 'execa';
import { LifeboatError } from '../errors.js';
import { decryptFilter, deferredFilter, privateDir, type Filter } from './filter.js';

/** A key as `gpg --with-colons` shows it: primary fingerprint first, then subkey fingerprints. */
export interface GpgKey {
  primary: string;
  fingerprints: string[];
  secret: boolean;
  /** Not expired, revoked or disabled, and the key (or a subkey) can encrypt. */
  canEncrypt: boolean;
  userIds: string[];
}

function gpgEnv(home: string): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, GNUPGHOME: home, LC_ALL: 'C' };
}

const BASE_ARGS = ['--batch', '--no-tty', '--quiet', '--no-greeting', '--pinentry-mode', 'loopback'];

async function gpg(home: string, args: string[], input?: string | Buffer): Promise<string> {
  try {
    const r = await execa('gpg', ['--homedir', home, ...BASE_ARGS, ...args], { input, extendEnv: false, env: gpgEnv(home), timeout: 60_000 });
    return r.stdout;
  } catch (err) {
    const e = err as { code?: string; stderr?: string; exitCode?: number };
    if (e.code === 'ENOENT')
      throw new LifeboatError('TOOL_MISSING', 'GnuPG failed: gpg is not installed on the worker (Debian: apt-get install gnupg)', { subject: 'gpg' });
    const line = (e.stderr ?? '')
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .pop();
    throw new LifeboatError('DECRYPT_FAILED', `GnuPG failed: gpg exited with code ${e.exitCode ?? 'unknown'}${line ? `: ${line}` : ''}`, { subject: 'gpg' });
  }
}

/** Parses `gpg --with-colons` key listings. Pure. */
export function parseGpgColons(text: string): GpgKey[] {
  const keys: GpgKey[] = [];
  let current: GpgKey | undefined;
  let expectFpr = false;
  for (const line of text.split('\n')) {
    const f = line.split(':');
    const type = f[0];
    if (type === 'pub' || type === 'sec') {
      const usable = !['e', 'r', 'd', 'i'].includes(f[1] ?? '');
      current = { primary: '', fingerprints: [], secret: type === 'sec', canEncrypt: usable && (f[11] ?? '').includes('E'), userIds: [] };
      keys.push(current);
      expectFpr = true;
    } else if (type === 'sub' || type === 'ssb') {
      expectFpr = true;
    } else if (type === 'fpr' && current && expectFpr) {
      const fpr = (f[9] ?? '').toUpperCase();
      if (!current.primary) current.primary = fpr;
      current.fingerprints.push(fpr);
      expectFpr = false;
    } else if (type === 'uid' && current) {
      current.userIds.push(f[9] ?? '');
    }
  }
  return keys.filter((k) => k.primary);
}

/** The keys in armored or binary key material, read without importing them anywhere lasting. */
export async function gpgKeysOf(material: string | Buffer): Promise<GpgKey[]> {
  const home = await privateDir('lb-gpg-');
  try {
    return parseGpgColons(await gpg(home.dir, ['--with-colons', '--import-options', 'show-only', '--import'], material));
  } finally {
    await stopGpg(home.dir);
    await home.remove();
  }
}

async function stopGpg(home: string): Promise<void> {
  await execa('gpgconf', ['--homedir', home, '--kill', 'all'], { extendEnv: false, env: gpgEnv(home), reject: false, timeout: 10_000 }).catch(() => undefined);
}

/** A keyring file's key that `fingerprint` names (primary or subkey), or undefined. */
export function findGpgKey(keys: GpgKey[], fingerprint: string): GpgKey | undefined {
  return keys.find((k) => k.fingerprints.includes(fingerprint));
}

/**
 * `gpg --encrypt` to `recipients` (fingerprints that must be in `keyringFile`, public keys only) as
 * a stream filter. Compression is off: the input is already compressed.
 */
export function gpgEncryptFilter(opts: { keyringFile: string; recipients: string[]; label: string; signal: AbortSignal }): Filter {
  return deferredFilter({
    signal: opts.signal,
    failureCode: 'ENCRYPT_FAILED',
    what: `Encryption of ${opts.label}`,
    setup: async () => {
      let material: Buffer;
      try {
        material = await readFile(opts.keyringFile);
      } catch (err) {
        throw new LifeboatError(
          'CONFIG_INVALID',
          `Encryption of ${opts.label} failed: cannot read the GPG keyring ${opts.keyringFile}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
          { subject: opts.label },
        );
      }
      const keys = await gpgKeysOf(material);
      for (const r of opts.recipients) {
        const key = findGpgKey(keys, r);
        if (!key)
          throw new LifeboatError('CONFIG_INVALID', `Encryption of ${opts.label} failed: GPG recipient ${r} is not in the keyring ${opts.keyringFile}`, {
            subject: opts.label,
          });
        if (!key.canEncrypt)
          throw new LifeboatError(
            'CONFIG_INVALID',
            `Encryption of ${opts.label} failed: GPG key ${r} cannot encrypt (expired, revoked, or without an encryption subkey)`,
            { subject: opts.label },
          );
      }
      const home = await privateDir('lb-gpg-');
      await gpg(home.dir, ['--import'], material);
      return {
        spec: {
          tool: 'gpg',
          args: [
            '--homedir',
            home.dir,
            ...BASE_ARGS,
            '--trust-model',
            'always',
            '--compress-algo',
            'none',
            '--encrypt',
            ...opts.recipients.flatMap((r) => ['--recipient', r]),
            '--output',
            '-',
          ],
          env: gpgEnv(home.dir),
        },
        cleanup: async () => {
          await stopGpg(home.dir);
          await home.remove();
        },
      };
    },
  });
}

/** `gpg --decrypt` with `secretKeys` (armored secret key blocks) imported into a temporary home. */
export function gpgDecryptFilter(opts: { secretKeys: string[]; label: string; signal: AbortSignal }): Filter {
  return decryptFilter({
    ...opts,
    prefix: 'lb-gpg-',
    prepare: async (home) => {
      for (const k of opts.secretKeys) await gpg(home.dir, ['--import'], k);
      return { tool: 'gpg', args: ['--homedir', home.dir, ...BASE_ARGS, '--decrypt', '--output', '-'], env: gpgEnv(home.dir) };
    },
    release: stopGpg,
  });
}
