// What long activities heartbeat, and what `--wait` shows. One shape per activity family,
// told apart by `activity`, so the CLI renders each one (never "undefined B read").

/** The data-moving phases a heartbeat reports. */
export type TransferPhase =
  'starting' | 'connecting' | 'waiting' | 'dumping' | 'confirming' | 'committing' | 'copying' | 'downloading' | 'preparing' | 'restoring' | 'counting';

interface BaseHeartbeat {
  phase: TransferPhase;
  elapsedMs: number;
}

/** Heartbeat of the backup activity. */
export interface BackupHeartbeat extends BaseHeartbeat {
  activity: 'backup';
  /** Bytes the dump tool produced so far. */
  rawBytes: number;
  /** Bytes stored so far (compressed, encrypted). */
  storedBytes: number;
  /** Estimated dump size (the database's size on disk); an estimate, not a promise. */
  estimateBytes?: number;
  /** In phase `waiting`: what the dump waits for (`waiting for a slot on host db1:5432 …`). */
  waitingFor?: string;
}

/** Heartbeat of a 3-2-1 copy to another storage target. */
export interface CopyHeartbeat extends BaseHeartbeat {
  activity: 'copy';
  to: string;
  /** Bytes copied so far, of `totalBytes`. */
  bytes: number;
  totalBytes: number;
}

/** Heartbeat of the restore activity. */
export interface RestoreHeartbeat extends BaseHeartbeat {
  activity: 'restore';
  rawBytes: number;
  storedBytes: number;
  /** Stored size of the artifact being read. */
  totalBytes?: number;
  /** Archive items the restore tool has processed so far. */
  items?: number;
  /** The last step the restore tool reported, e.g. `processing data for table "public.users"`. */
  step?: string;
}

/** Heartbeat of bookkeeping activities (planning, deleting, sweeping). */
export interface TaskHeartbeat {
  activity: 'task';
  phase: string;
  done?: number;
  of?: number;
}

export type Heartbeat = BackupHeartbeat | CopyHeartbeat | RestoreHeartbeat | TaskHeartbeat;
