// Throwaway keys for encryption tests, made with the stock tools (age-keygen, ssh-keygen, gpg).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const made: string[] = [];

/** A fresh temporary directory, removed by {@link removeTempDirs}. */
export function tempDir(prefix = 'lb-keys-'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** Removes every directory {@link tempDir} made in this test file (call from afterAll). */
export function removeTempDirs(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** `age-keygen`: the identity file's text and its recipient. */
export function ageKey(): { identity: string; recipient: string } {
  const identity = execFileSync('age-keygen', [], { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
  const recipient = execFileSync('age-keygen', ['-y'], { input: identity }).toString().trim();
  return { identity, recipient };
}

/** `ssh-keygen` without a passphrase: private key text, public key line, and OpenSSH's SHA256 fingerprint. */
export function sshKey(type: 'ed25519' | 'rsa', format: 'openssh' | 'pem' = 'openssh'): { privateKey: string; publicKey: string; fingerprint: string } {
  const dir = tempDir();
  try {
    const file = path.join(dir, 'id');
    const extra = type === 'rsa' ? ['-b', '2048', ...(format === 'pem' ? ['-m', 'PEM'] : [])] : [];
    execFileSync('ssh-keygen', ['-q', '-t', type, ...extra, '-N', '', '-C', 'lifeboat-test', '-f', file]);
    const fingerprint = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${file}.pub`])
      .toString()
      .split(' ')[1]!;
    return { privateKey: readFileSync(file, 'utf8'), publicKey: readFileSync(`${file}.pub`, 'utf8').trim(), fingerprint };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A GPG key (ed25519 + cv25519 encryption subkey, no passphrase) in a fresh home, exported both ways. */
export function gpgKey(name = 'Lifeboat Test'): { fingerprint: string; publicKey: string; secretKey: string } {
  const home = tempDir('lb-gpghome-');
  const gpg = (args: string[]) =>
    execFileSync('gpg', ['--homedir', home, '--batch', '--quiet', '--pinentry-mode', 'loopback', '--passphrase', '', ...args], {
      env: { ...process.env, GNUPGHOME: home },
    }).toString();
  try {
    gpg(['--quick-gen-key', `${name} <lifeboat-test@example.invalid>`, 'ed25519', 'cert,sign', 'never']);
    const fingerprint = gpg(['--with-colons', '--list-keys'])
      .split('\n')
      .find((l) => l.startsWith('fpr:'))!
      .split(':')[9]!;
    gpg(['--quick-add-key', fingerprint, 'cv25519', 'encr', 'never']);
    return { fingerprint, publicKey: gpg(['--armor', '--export', fingerprint]), secretKey: gpg(['--armor', '--export-secret-keys', fingerprint]) };
  } finally {
    execFileSync('gpgconf', ['--homedir', home, '--kill', 'all'], { env: { ...process.env, GNUPGHOME: home } });
    rmSync(home, { recursive: true, force: true });
  }
}

export function writeTemp(name: string, text: string, dir = tempDir()): string {
  const file = path.join(dir, name);
  writeFileSync(file, text, { mode: 0o600 });
  return file;
}
