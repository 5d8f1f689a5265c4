// WAL file names and the segment sequence: `TTTTTTTTXXXXXXXXYYYYYYYY` segments, `TTTTTTTT.history`
// timeline histories, `….backup` backup history files and `….partial` segments. Pure.

export const DEFAULT_WAL_SEGMENT_BYTES = 16 * 1024 * 1024;

const SEGMENT_RE = /^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})$/;
const FILE_RE = /^(?:[0-9A-F]{24}(?:\.partial|\.[0-9A-F]{8}\.backup)?|[0-9A-F]{8}\.history)$/;

export interface SegmentName {
  file: string;
  timeline: number;
  /** Position of the segment in the WAL: log id × segments per log id + segment id. */
  index: number;
}

/** True for a name PostgreSQL archives (`%f`); anything else is refused (it would escape the prefix). */
export function isWalFileName(file: string): boolean {
  return FILE_RE.test(file);
}

export function isHistoryFile(file: string): boolean {
  return /^[0-9A-F]{8}\.history$/.test(file);
}

function segmentsPerLogId(segmentBytes: number): number {
  return 0x1_0000_0000 / segmentBytes;
}

/** Parses a full segment name, or undefined for history, backup and partial files. */
export function parseSegment(file: string, segmentBytes = DEFAULT_WAL_SEGMENT_BYTES): SegmentName | undefined {
  const m = SEGMENT_RE.exec(file);
  if (!m) return undefined;
  const log = parseInt(m[2]!, 16);
  const seg = parseInt(m[3]!, 16);
  return { file, timeline: parseInt(m[1]!, 16), index: log * segmentsPerLogId(segmentBytes) + seg };
}

/** The segment name of `timeline` at `index`. */
export function segmentName(timeline: number, index: number, segmentBytes = DEFAULT_WAL_SEGMENT_BYTES): string {
  const per = segmentsPerLogId(segmentBytes);
  const hex = (n: number) => n.toString(16).toUpperCase().padStart(8, '0');
  return `${hex(timeline)}${hex(Math.floor(index / per))}${hex(index % per)}`;
}

/** Parses an LSN (`0/3000028`) into a number of bytes. */
export function parseLsn(lsn: string): number {
  const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(lsn.trim());
  if (!m) throw new Error(`Invalid LSN "${lsn}": expected the form 0/3000028`);
  return parseInt(m[1]!, 16) * 0x1_0000_0000 + parseInt(m[2]!, 16);
}

/** The segment index holding `lsn`. */
export function segmentIndexOf(lsn: string, segmentBytes = DEFAULT_WAL_SEGMENT_BYTES): number {
  return Math.floor(parseLsn(lsn) / segmentBytes);
}

export interface WalGap {
  timeline: number;
  /** The first and last missing segment names. */
  from: string;
  to: string;
  missing: number;
}

/**
 * Missing segments between `fromIndex` (when given; else each timeline's first archived segment)
 * and each timeline's newest archived one. A segment of an earlier timeline counts for the same
 * position on a later one (the later timeline branched from it), so a timeline switch is no gap.
 */
export function findGaps(files: string[], opts: { fromIndex?: number; segmentBytes?: number } = {}): WalGap[] {
  const segs = files.map((f) => parseSegment(f, opts.segmentBytes)).filter((s): s is SegmentName => s !== undefined);
  const present = new Set(segs.map((s) => s.index));
  const gaps: WalGap[] = [];
  const timelines = [...new Set(segs.map((s) => s.timeline))].sort((a, b) => a - b);
  let start = opts.fromIndex;
  for (const tl of timelines) {
    const mine = segs.filter((s) => s.timeline === tl).map((s) => s.index);
    const last = Math.max(...mine);
    let i = start ?? Math.min(...mine);
    while (i <= last) {
      if (present.has(i)) {
        i++;
        continue;
      }
      const first = i;
      while (i <= last && !present.has(i)) i++;
      gaps.push({ timeline: tl, from: segmentName(tl, first, opts.segmentBytes), to: segmentName(tl, i - 1, opts.segmentBytes), missing: i - first });
    }
    start = start === undefined ? undefined : Math.max(start, last + 1);
  }
  return gaps;
}
