import { createReadStream, createWriteStream, type Dirent } from 'node:fs';
import { link, mkdir, open, readFile, readdir, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FilesystemStorageConfig } from '../config/schema.js';
import { LifeboatError } from '../errors.js';
import { confirmObject } from './confirm.js';
import type { Confirmation, ConfirmOptions, ExpectedObject, IncompleteUpload, PutStreamOptions, Storage, StoredObject } from './types.js';

const PARTIAL = '.partial-';

/** A directory used like a bucket. Writes go to a temporary file that is fsynced, then renamed. */
export class FilesystemStorage implements Storage {
  private readonly root: string;
  readonly rereadsUploads = false;

  constructor(
    public readonly name: string,
    cfg: FilesystemStorageConfig,
  ) {
    this.root = path.resolve(cfg.path, cfg.prefix ?? '');
  }

  private file(key: string): string {
    const p = path.resolve(this.root, key);
    if (p !== this.root && !p.startsWith(this.root + path.sep)) {
      throw new LifeboatError('STORAGE_FAILED', `Invalid key: escapes the storage directory: ${key}`, { subject: key });
    }
    return p;
  }

  describe(key: string): string {
    return this.file(key);
  }

  private fail(action: string, key: string, err: unknown): LifeboatError {
    if (err instanceof LifeboatError) return err;
    const e = err as NodeJS.ErrnoException;
    return new LifeboatError('STORAGE_FAILED', `${action} failed: ${e.code ?? e.message}: ${this.describe(key)}`, {
      subject: this.describe(key),
      cause: err,
    });
  }

  private async writeTemp(target: string, write: (tmp: string) => Promise<void>): Promise<string> {
    await mkdir(path.dirname(target), { recursive: true });
    const tmp = `${target}${PARTIAL}${randomBytes(6).toString('hex')}`;
    try {
      await write(tmp);
      const fh = await open(tmp, 'r');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
      return tmp;
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
  }

  async putStream(key: string, body: Readable, options: PutStreamOptions = {}): Promise<{ bytes: number }> {
    const target = this.file(key);
    try {
      const tmp = await this.writeTemp(target, (t) => pipeline(body, createWriteStream(t, { mode: 0o640 }), { signal: options.signal }));
      await rename(tmp, target);
      return { bytes: (await stat(target)).size };
    } catch (err) {
      throw this.fail('Write', key, err);
    }
  }

  async putIfAbsent(key: string, data: Buffer | string): Promise<boolean> {
    const target = this.file(key);
    let tmp: string | undefined;
    try {
      tmp = await this.writeTemp(target, async (t) => {
        const fh = await open(t, 'wx', 0o640);
        try {
          await fh.writeFile(data);
        } finally {
          await fh.close();
        }
      });
      await link(tmp, target); // atomic create-if-absent
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw this.fail('Conditional write', key, err);
    } finally {
      if (tmp) await unlink(tmp).catch(() => undefined);
    }
  }

  async put(key: string, data: Buffer | string): Promise<void> {
    const target = this.file(key);
    try {
      const tmp = await this.writeTemp(target, async (t) => {
        const fh = await open(t, 'w', 0o640);
        try {
          await fh.writeFile(data);
        } finally {
          await fh.close();
        }
      });
      await rename(tmp, target);
    } catch (err) {
      throw this.fail('Write', key, err);
    }
  }

  async getStream(key: string): Promise<Readable> {
    const file = this.file(key);
    try {
      await stat(file);
    } catch (err) {
      throw this.fail('Read', key, err);
    }
    return createReadStream(file);
  }

  async getBuffer(key: string): Promise<Buffer> {
    try {
      return await readFile(this.file(key));
    } catch (err) {
      throw this.fail('Read', key, err);
    }
  }

  async head(key: string): Promise<StoredObject | undefined> {
    try {
      const s = await stat(this.file(key));
      return s.isFile() ? { key, bytes: s.size, lastModified: s.mtime } : undefined;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw this.fail('Head', key, err);
    }
  }

  private async walk(prefix: string): Promise<Array<StoredObject & { partial: boolean }>> {
    const out: Array<StoredObject & { partial: boolean }> = [];
    const start = this.file(prefix.endsWith('/') || prefix === '' ? prefix : path.dirname(prefix));
    let entries: Dirent[];
    try {
      entries = await readdir(start, { withFileTypes: true, recursive: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return out;
      throw this.fail('List', prefix, err);
    }
    for (const e of entries) {
      if (!e.isFile()) continue;
      const abs = path.join(e.parentPath, e.name);
      const key = path.relative(this.root, abs).split(path.sep).join('/');
      if (!key.startsWith(prefix)) continue;
      const s = await stat(abs).catch(() => undefined);
      if (!s) continue;
      out.push({ key, bytes: s.size, lastModified: s.mtime, partial: e.name.includes(PARTIAL) });
    }
    return out.sort((a, b) => a.key.localeCompare(b.key));
  }

  async list(prefix: string): Promise<StoredObject[]> {
    return (await this.walk(prefix)).filter((o) => !o.partial).map(({ key, bytes, lastModified }) => ({ key, bytes, lastModified }));
  }

  async delete(key: string): Promise<void> {
    try {
      await unlink(this.file(key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw this.fail('Delete', key, err);
    }
  }

  /** The file is fsynced before it is renamed into place; its size is checked, its bytes only on `reread`. */
  async confirm(key: string, expected: ExpectedObject, options: ConfirmOptions = {}): Promise<Confirmation> {
    return confirmObject(this, key, expected, options.reread === true, options.signal);
  }

  async listIncompleteUploads(prefix: string): Promise<IncompleteUpload[]> {
    return (await this.walk(prefix)).filter((o) => o.partial).map((o) => ({ key: o.key, uploadId: o.key, initiated: o.lastModified }));
  }

  async abortIncompleteUpload(upload: IncompleteUpload): Promise<void> {
    await this.delete(upload.uploadId);
  }
}
