// Configuration of encryption at rest (`databases.<db>.encryption`): syntax only; whether GPG
// recipients are in their keyring is checked when a backup starts.
import { z } from 'zod';
import { normalizeGpgFingerprint, parseAgeRecipient } from './keys.js';

const AgeRecipientSchema = z.string({ error: 'expected an age recipient (age1…) or an SSH public key' }).superRefine((s, ctx) => {
  const r = parseAgeRecipient(s);
  if (typeof r === 'string') ctx.addIssue({ code: 'custom', message: r });
});

const GpgFingerprintSchema = z
  .string({ error: 'expected a GPG key fingerprint (40 hex digits)' })
  .refine((s) => normalizeGpgFingerprint(s) !== undefined, 'expected a GPG key fingerprint (40 hex digits, spaces allowed); key ids and user ids are ambiguous')
  .transform((s) => normalizeGpgFingerprint(s)!);

/**
 * `encryption: { age: { recipients: [...] } }` or `encryption: { gpg: { recipients: [...], keyring } }`.
 * Public keys only: the identities that decrypt live in `restore.identities`.
 */
export const EncryptionSchema = z
  .strictObject({
    age: z.strictObject({ recipients: z.array(AgeRecipientSchema).min(1, 'expected at least one recipient') }).optional(),
    gpg: z
      .strictObject({
        recipients: z.array(GpgFingerprintSchema).min(1, 'expected at least one recipient fingerprint'),
        /** A public keyring file (`gpg --export --armor FPR... > keys.asc`), relative to the config file. */
        keyring: z.string().min(1, 'expected the path of a public keyring file (gpg --export --armor)'),
      })
      .optional(),
  })
  .superRefine((e, ctx) => {
    if (!e.age === !e.gpg) ctx.addIssue({ code: 'custom', message: 'expected exactly one of "age" or "gpg"' });
  });
export type EncryptionConfig = z.infer<typeof EncryptionSchema>;
