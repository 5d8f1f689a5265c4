/**
 * Reads a `mariadb-dump`/`mysqldump` SQL stream as it passes to compression: counts the rows of
 * every table's INSERT statements and picks up the binary log position the dump recorded. The
 * counts are the rows the artifact itself holds, read in the dump's own consistent snapshot.
 *
 * The dump tools reset `sql_mode` for their session, so strings are always backslash-escaped and
 * binary values are hex (`--hex-blob`); data statements start a line with ``INSERT INTO `t` ``.
 * Statements inside `DELIMITER ;;` blocks (routine and trigger bodies) are never counted.
 */

const INSERT = Buffer.from('INSERT INTO `');
const VALUES = 'VALUES';
const MAX_LINE = 4096;
/** The bytes the row loop acts on outside a string: ' ( ) ; */
const SPECIAL = new Uint8Array(256);
for (const b of [39, 40, 41, 59]) SPECIAL[b] = 1;

const nextOf = (chunk: Buffer, b: number, from: number): number => {
  const k = chunk.indexOf(b, from);
  return k < 0 ? chunk.length : k;
};

const enum S {
  Line,
  Name,
  Head,
  Rows,
  SkipLine,
}

export interface DumpPosition {
  /** Binary log file and offset of the dump's snapshot (`--master-data`/`--source-data`). */
  file?: string;
  pos?: number;
  /** MariaDB GTID position of the snapshot (`gtid_slave_pos`). */
  gtid?: string;
}

export class DumpScanner {
  readonly rowCounts = new Map<string, number>();
  readonly position: DumpPosition = {};
  /** Tables the dump creates or holds data of, in dump order. */
  readonly tables: string[] = [];
  bytes = 0;
  private state: S = S.Line;
  private line: number[] = [];
  private name: number[] = [];
  private programs = false;
  private head = '';
  private table = '';
  private count = 0;
  private depth = 0;
  private inString = false;
  private escape = false;
  private quote = false;
  private tick = false;

  push(chunk: Buffer): void {
    this.bytes += chunk.length;
    for (let i = 0; i < chunk.length; i++) {
      switch (this.state) {
        case S.Rows:
          i = this.rows(chunk, i);
          break;
        case S.Line:
          this.lineByte(chunk[i]!);
          break;
        case S.Name:
          this.nameByte(chunk[i]!);
          break;
        case S.Head:
          this.headByte(chunk[i]!);
          break;
        case S.SkipLine: {
          const nl = chunk.indexOf(10, i);
          if (nl < 0) return;
          i = nl;
          this.state = S.Line;
          break;
        }
      }
    }
  }

  private lineByte(b: number): void {
    if (b === 10) {
      this.endLine(Buffer.from(this.line).toString('utf8'));
      this.line = [];
      return;
    }
    if (this.line.length < MAX_LINE) this.line.push(b);
    if (!this.programs && this.line.length === INSERT.length && INSERT.equals(Buffer.from(this.line))) {
      this.line = [];
      this.name = [];
      this.tick = false;
      this.state = S.Name;
    }
  }

  private endLine(text: string): void {
    if (/^DELIMITER\s+;;\s*$/.test(text)) this.programs = true;
    else if (/^DELIMITER\s+;\s*$/.test(text)) this.programs = false;
    const table = /^(?:CREATE TABLE|-- Dumping data for table) `((?:[^`]|``)+)`/.exec(text);
    if (table) {
      const name = table[1]!.replace(/``/g, '`');
      if (!this.tables.includes(name)) this.tables.push(name);
    }
    const master = /^-- CHANGE (?:MASTER|REPLICATION SOURCE) TO (?:MASTER|SOURCE)_LOG_FILE='([^']+)', (?:MASTER|SOURCE)_LOG_POS=(\d+)/.exec(text);
    if (master) {
      this.position.file = master[1];
      this.position.pos = Number(master[2]);
    }
    const gtid = /^-- SET GLOBAL gtid_slave_pos='([^']*)'/.exec(text);
    if (gtid) this.position.gtid = gtid[1];
  }

  private nameByte(b: number): void {
    if (this.tick) {
      this.tick = false;
      if (b === 96) {
        this.name.push(96);
        return;
      }
      this.table = Buffer.from(this.name).toString('utf8');
      this.head = '';
      this.state = S.Head;
      this.headByte(b);
      return;
    }
    if (b === 96) this.tick = true;
    else this.name.push(b);
  }

  /** Between the table name and VALUES (a column list with --complete-insert). */
  private headByte(b: number): void {
    if (b === 96) this.tick = !this.tick;
    if (this.tick) return;
    this.head = (this.head + String.fromCharCode(b)).slice(-VALUES.length);
    if (this.head === VALUES) {
      this.count = 0;
      this.depth = 0;
      this.inString = false;
      this.escape = false;
      this.quote = false;
      this.state = S.Rows;
    }
  }

  /**
   * The hot loop over an INSERT's rows, with its state in locals; returns the index it stopped at.
   * Inside a string only quotes and backslashes matter, so it jumps to the nearer one (`indexOf`);
   * outside, only quotes, parentheses and semicolons, found with one table look-up a byte.
   */
  private rows(chunk: Buffer, start: number): number {
    let { inString, escape, quote, depth, count } = this;
    const n = chunk.length;
    let nq = -1; // the next quote at or after the index it was looked for from
    let nb = -1; // the next backslash, likewise
    let i = start;
    for (; i < n; i++) {
      const b = chunk[i]!;
      if (inString) {
        if (escape) escape = false;
        else if (quote) {
          quote = false;
          if (b !== 39) {
            inString = false; // the string ended before b: look at b again, outside it
            i--;
          }
        } else if (b === 92) escape = true;
        else if (b === 39) quote = true;
        else {
          if (nq < i) nq = nextOf(chunk, 39, i);
          if (nb < i) nb = nextOf(chunk, 92, i);
          i = (nq < nb ? nq : nb) - 1;
        }
        continue;
      }
      if (SPECIAL[b] === 0) continue;
      if (b === 39) inString = true;
      else if (b === 40) {
        if (depth === 0) count++;
        depth++;
      } else if (b === 41) depth--;
      else if (b === 59 && depth === 0) {
        this.rowCounts.set(this.table, (this.rowCounts.get(this.table) ?? 0) + count);
        this.state = S.SkipLine;
        break;
      }
    }
    Object.assign(this, { inString, escape, quote, depth, count });
    return i;
  }

  /** Row counts of every table the dump created (0 for tables without rows). */
  counts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const t of this.tables) out[t] = this.rowCounts.get(t) ?? 0;
    for (const [t, n] of this.rowCounts) if (!(t in out)) out[t] = n;
    return out;
  }

  /** True when the stream ended inside a statement (a truncated dump). */
  incomplete(): boolean {
    return this.state === S.Rows || this.state === S.Name || this.state === S.Head;
  }
}
