/**
 * A line filter between the decompressed artifact and the `mariadb`/`mysql` client:
 *
 * - `ALTER DATABASE `<source>`` statements (the dump tools emit them around routines whose
 *   collation differs) are pointed at the target database, never at the source;
 * - `USE` and `CREATE DATABASE` statements are refused (a Lifeboat dump has none: it names no
 *   database, so everything lands in the client's `--database`);
 * - with `tables`, only those tables' sections are kept (structure, data and triggers, which the
 *   dump writes inside the table's section); views, routines and events are left out;
 * - `content: 'schema'` leaves out the rows (INSERT statements outside `DELIMITER ;;` blocks);
 *   `content: 'data'` keeps only the rows and the session settings around them, in one
 *   transaction (`SET autocommit = 0` ... `COMMIT`), so a failing row changes nothing.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { LifeboatError } from '../../errors.js';
import { quoteIdent } from './connection.js';

const SECTION =
  /^-- (Table structure for table|Dumping data for table|Temporary (?:table|view) structure for view|Final view structure for view|Dumping routines for database|Dumping events for database) `((?:[^`]|``)*)`/;

export interface RestoreFilterOptions {
  sourceDatabase: string;
  targetDatabase: string;
  /** Keep only these tables (mode `tables`). */
  tables?: string[];
  /** `all` by default. */
  content?: 'all' | 'schema' | 'data';
  /** Called with each section header passed on (`Dumping data for table \`t\``): restore progress. */
  onSection?: (header: string) => void;
  subject: string;
}

export class RestoreFilter extends Transform {
  private rest = '';
  private keep = true;
  private inBlock = false;
  private inInsert = false;
  private started = false;
  private readonly alterSource: string;
  private readonly alterTarget: string;
  private readonly tables?: Set<string>;
  /** Tables whose sections were kept. */
  readonly seen = new Set<string>();

  constructor(private readonly opts: RestoreFilterOptions) {
    super();
    this.alterSource = `ALTER DATABASE ${quoteIdent(opts.sourceDatabase)}`;
    this.alterTarget = `ALTER DATABASE ${quoteIdent(opts.targetDatabase)}`;
    this.tables = opts.tables ? new Set(opts.tables) : undefined;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    // Lines are split as bytes: a UTF-8 sequence never contains "\n", so this is safe.
    const text = this.rest + chunk.toString('latin1');
    const lines = text.split('\n');
    this.rest = lines.pop() ?? '';
    if (!this.started && this.opts.content === 'data') this.push(Buffer.from('SET autocommit = 0;\n'));
    this.started = true;
    try {
      const out = lines.map((l) => this.line(l)).filter((l): l is string => l !== undefined);
      if (out.length) this.push(Buffer.from(`${out.join('\n')}\n`, 'latin1'));
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    try {
      const last = this.rest === '' ? undefined : this.line(this.rest);
      if (last !== undefined) this.push(Buffer.from(`${last}\n`, 'latin1'));
      if (this.opts.content === 'data') this.push(Buffer.from(`${this.started ? '' : 'SET autocommit = 0;\n'}COMMIT;\n`));
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  private line(l: string): string | undefined {
    if (this.tables && l.startsWith('-- ')) {
      const m = SECTION.exec(Buffer.from(l, 'latin1').toString('utf8'));
      if (m) {
        const name = m[2]!.replace(/``/g, '`');
        this.keep = /^(Table structure|Dumping data)/.test(m[1]!) && this.tables.has(name);
        if (this.keep) this.seen.add(name);
      }
    }
    if (!this.keep) return undefined;
    if (l.startsWith('-- ') && this.opts.onSection && SECTION.test(l)) this.opts.onSection(Buffer.from(l.slice(3), 'latin1').toString('utf8'));
    if (!this.content(l)) return undefined;
    if (/^(USE|CREATE DATABASE)\b/i.test(l) || /^\/\*!\d+ (USE|CREATE DATABASE)\b/i.test(l)) {
      throw new LifeboatError(
        'RESTORE_FAILED',
        `Restore of ${this.opts.subject} refused: the dump switches or creates databases (${l.slice(0, 60)}); it was not written by Lifeboat`,
        { subject: this.opts.subject },
      );
    }
    if (/^(\/\*!\d+ )?ALTER DATABASE /.test(l)) {
      const utf8 = Buffer.from(l, 'latin1').toString('utf8');
      if (utf8.includes(this.alterSource)) return Buffer.from(utf8.split(this.alterSource).join(this.alterTarget), 'utf8').toString('latin1');
    }
    return l;
  }

  /**
   * Whether line `l` belongs to the content restored. `DELIMITER ;;` blocks hold routine and
   * trigger bodies; an INSERT statement may span lines (MariaDB's dump tool writes a row a line)
   * and ends with the line ending in `;` (row values never hold a raw line break).
   */
  private content(l: string): boolean {
    const block = this.inBlock;
    const insert = this.inInsert || (!block && l.startsWith('INSERT INTO `'));
    if (insert) this.inInsert = !l.endsWith(';');
    else if (l.startsWith('DELIMITER ')) this.inBlock = l.trim() !== 'DELIMITER ;';
    const mode = this.opts.content ?? 'all';
    if (mode === 'all') return true;
    if (mode === 'schema') return !insert;
    return insert || (!block && !this.inBlock && /^(\/\*!\d+ )?SET /.test(l));
  }
}
