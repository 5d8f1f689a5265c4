// Who acts: requests and approvals from the CLI are made as the OS user running it, never as a
// name typed on the command line. The Temporal client carries the same identity, so the workflow
// history records who sent each update.
import os from 'node:os';

/** The OS user running this process. */
export function osUser(): string {
  return os.userInfo().username;
}

/** The Temporal client identity: `alice@host (lifeboat, pid 4242)`. */
export function clientIdentity(): string {
  return `${osUser()}@${os.hostname()} (lifeboat, pid ${process.pid})`;
}
