// Temporal payload encryption: every payload Lifeboat's worker and CLI send (workflow and activity
// inputs, results, heartbeats, failure details, memos, schedule arguments) is sealed with
// AES-256-GCM before it reaches the server. The key id travels in the payload's metadata, so
// several keys can decrypt while the first one encrypts (rotation).
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import path from 'node:path';
import type { DataConverter, Payload, PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';
import type { LifeboatConfig } from '../config/schema.js';
import { resolveSecret } from '../config/secrets.js';
import { parse256BitKey } from '../crypto/keys.js';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
const CIPHER_METADATA = 'encryption-cipher';
const CIPHER = 'AES256GCM';
const IV_BYTES = 12;
const TAG_BYTES = 16;

const utf8 = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | null | undefined) => (b ? Buffer.from(b).toString('utf8') : undefined);

export interface CodecKey {
  id: string;
  key: Buffer;
}

/** Reads a 256-bit codec key (base64 or 64 hex digits). */
export const parseCodecKey = parse256BitKey;

/**
 * AES-256-GCM payload codec. The first key encrypts; any key decrypts the payloads that name its
 * id. The whole original payload (metadata and data) is sealed; the key id is authenticated too.
 */
export class AesGcmPayloadCodec implements PayloadCodec {
  private readonly byId: Map<string, Buffer>;

  constructor(private readonly keys: CodecKey[]) {
    if (keys.length === 0) throw new Error('AesGcmPayloadCodec needs at least one key');
    this.byId = new Map(keys.map((k) => [k.id, k.key]));
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const { id, key } = this.keys[0]!;
    return payloads.map((p) => {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(utf8(id));
      const sealed = Buffer.concat([cipher.update(proto.temporal.api.common.v1.Payload.encode(p).finish()), cipher.final()]);
      return {
        metadata: { encoding: utf8(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: utf8(id), [CIPHER_METADATA]: utf8(CIPHER) },
        data: Buffer.concat([iv, sealed, cipher.getAuthTag()]),
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => {
      if (text(p.metadata?.encoding) !== ENCRYPTED_ENCODING) return p;
      const id = text(p.metadata?.[KEY_ID_METADATA]) ?? '';
      const key = this.byId.get(id);
      if (!key) {
        throw new Error(`Payload decryption failed: key id "${id}" is not among temporal.payloadCodec.keys (${[...this.byId.keys()].join(', ')})`);
      }
      const data = Buffer.from(p.data ?? new Uint8Array());
      if (data.length < IV_BYTES + TAG_BYTES) throw new Error(`Payload decryption failed: payload sealed with key "${id}" is truncated`);
      const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
      decipher.setAAD(utf8(id));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      let plain: Buffer;
      try {
        plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
      } catch {
        throw new Error(`Payload decryption failed: payload sealed with key "${id}" does not authenticate (wrong key material or tampered)`);
      }
      const decoded = proto.temporal.api.common.v1.Payload.decode(plain);
      return { metadata: decoded.metadata, data: decoded.data };
    });
  }
}

/** The configured payload codec (`temporal.payloadCodec`), or undefined when payloads are plain. */
export function payloadCodec(cfg: LifeboatConfig): AesGcmPayloadCodec | undefined {
  const c = cfg.temporal.payloadCodec;
  if (!c) return undefined;
  const base = cfg.sourcePath ? path.dirname(cfg.sourcePath) : undefined;
  return new AesGcmPayloadCodec(
    c.keys.map((k, i) => {
      const label = `temporal.payloadCodec.keys.${i}.key`;
      return { id: k.id, key: parseCodecKey(resolveSecret(k.key, label, base), label) };
    }),
  );
}

/** The data converter of Lifeboat's worker and clients: the payload codec when configured. */
export function lifeboatDataConverter(cfg: LifeboatConfig): DataConverter {
  const codec = payloadCodec(cfg);
  return codec ? { payloadCodecs: [codec] } : {};
}
