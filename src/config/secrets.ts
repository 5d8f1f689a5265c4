import { readFileSync } from 'node:fs';
import path from 'node:path';
import { LifeboatError } from '../errors.js';
import type { SecretRef, ValueOrRef } from './refs.js';

const known = new Set<string>();

/**
 * Every secret value resolved in this process, so that logs and failure messages can be scrubbed.
 * Values shorter than 4 characters are not tracked (they would redact ordinary words).
 */
export function registerSecret(value: string): void {
  if (value.length >= 4) known.add(value);
  try {
    const encoded = encodeURIComponent(value);
    if (encoded !== value && encoded.length >= 4) known.add(encoded);
  } catch {
    /* not encodable: nothing more to register */
  }
}

/** Replaces every registered secret in `text` with `***`. */
export function redactSecrets(text: string): string {
  let out = text;
  for (const s of known) if (out.includes(s)) out = out.split(s).join('***');
  return out.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)[^@\s]+@/gi, '$1***@');
}

/**
 * Resolves a secret reference on the worker. `label` names the config path for error messages
 * (e.g. `databases.orders.url`); the value itself never appears in an error.
 */
export function resolveSecret(ref: ValueOrRef | SecretRef, label: string, baseDir = process.cwd()): string {
  if (typeof ref === 'string') return ref;
  if ('env' in ref) {
    const value = process.env[ref.env];
    if (value === undefined || value === '') {
      throw new LifeboatError('SECRET_UNAVAILABLE', `Secret ${label} is unavailable: environment variable ${ref.env} is not set on the worker`, {
        subject: label,
      });
    }
    registerSecret(value);
    return value;
  }
  const file = path.resolve(baseDir, ref.file);
  let value: string;
  try {
    value = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    throw new LifeboatError('SECRET_UNAVAILABLE', `Secret ${label} is unavailable: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, {
      subject: label,
    });
  }
  if (value === '') {
    throw new LifeboatError('SECRET_UNAVAILABLE', `Secret ${label} is unavailable: ${file} is empty`, { subject: label });
  }
  registerSecret(value);
  return value;
}
