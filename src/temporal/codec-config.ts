// Configuration of the payload codec (`temporal.payloadCodec`) and of `lifeboat codec-server`.
import { z } from 'zod';
import type { SecretRef } from '../config/refs.js';

/** `temporal.payloadCodec`: AES-256-GCM keys by secret reference (the first encrypts) and the codec server. */
export const payloadCodecSchema = (secretRef: z.ZodType<SecretRef>) =>
  z.strictObject({
    keys: z
      .array(z.strictObject({ id: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'expected a key id of letters, digits, ".", "_" or "-"'), key: secretRef }))
      .min(1, 'expected at least one key')
      .superRefine((keys, ctx) => {
        keys.forEach((k, i) => {
          if (keys.findIndex((o) => o.id === k.id) < i) ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `duplicates key id "${k.id}"` });
        });
      }),
    /** `lifeboat codec-server`: where it listens, which Web UI origins may call it, an optional bearer token. */
    server: z
      .strictObject({
        listen: z
          .string()
          .regex(/^(\[[^\]]+\]|[^:]+):\d+$/, 'expected HOST:PORT')
          .default('127.0.0.1:8888'),
        origins: z.array(z.url()).optional(),
        token: secretRef.optional(),
      })
      .optional(),
  });
