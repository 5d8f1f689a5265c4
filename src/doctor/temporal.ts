import type { Client } from '@temporalio/client';
import protoPkg from '@temporalio/proto';
import type { LifeboatConfig } from '../config/schema.js';
import { SEARCH_ATTRIBUTE_NAMES } from '../contracts/index.js';
import { connectClient, describeAddress } from '../temporal.js';
import { fail, ok, warn, within, type DoctorCheck } from './types.js';

const PART = 'temporal';
const proto = protoPkg.temporal;
type TaskQueueType = protoPkg.temporal.api.enums.v1.TaskQueueType;

async function pollers(client: Client, cfg: LifeboatConfig, type: TaskQueueType): Promise<number> {
  const r = await client.workflowService.describeTaskQueue({
    namespace: cfg.temporal.namespace,
    taskQueue: { name: cfg.temporal.taskQueue, kind: proto.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
    taskQueueType: type,
  });
  return r.pollers?.length ?? 0;
}

/** Lifeboat's search attributes in the namespace (runs work without them; the Web UI cannot filter by them). */
async function searchAttributes(client: Client, cfg: LifeboatConfig): Promise<DoctorCheck> {
  try {
    const r = await within(client.connection.operatorService.listSearchAttributes({ namespace: cfg.temporal.namespace }), 8000, 'listSearchAttributes');
    const missing = SEARCH_ATTRIBUTE_NAMES.filter((n) => r.customAttributes?.[n] === undefined);
    if (missing.length === 0) return ok(PART, 'search attributes', SEARCH_ATTRIBUTE_NAMES.join(', '));
    return warn(
      PART,
      'search attributes',
      `not registered in ${cfg.temporal.namespace}: ${missing.join(', ')} (runs start without them; the Web UI cannot filter by database or outcome)`,
      `\`lifeboat register-search-attributes\` (self-hosted), or on Temporal Cloud: ${missing.map((n) => `tcld namespace search-attributes add -n ${cfg.temporal.namespace} --sa "${n}=Keyword"`).join('; ')}`,
    );
  } catch (err) {
    return warn(PART, 'search attributes', `cannot list them: ${(err as Error).message.split('\n')[0]}`, 'check the operator API permissions of this identity');
  }
}

/** Temporal reachable, the namespace exists, its search attributes, and a worker polls the task queue. */
export async function checkTemporal(cfg: LifeboatConfig): Promise<DoctorCheck[]> {
  const where = describeAddress(cfg);
  let client: Client;
  try {
    client = await within(connectClient(cfg), 12_000, `Temporal at ${where}`);
  } catch (err) {
    return [
      fail(
        PART,
        'reachable',
        `cannot reach Temporal at ${where}: ${(err as Error).message.split('\n')[0]}`,
        'start the Temporal server (locally: `temporal server start-dev`), or set temporal.address / TEMPORAL_ADDRESS (and TLS or an API key for Temporal Cloud)',
      ),
    ];
  }
  const checks: DoctorCheck[] = [ok(PART, 'reachable', where)];
  try {
    try {
      await within(client.workflowService.describeNamespace({ namespace: cfg.temporal.namespace }), 8000, 'describeNamespace');
      checks.push(ok(PART, 'namespace', cfg.temporal.namespace));
    } catch (err) {
      checks.push(
        fail(
          PART,
          'namespace',
          `namespace ${cfg.temporal.namespace}: ${(err as Error).message}`,
          `create it (\`temporal operator namespace create ${cfg.temporal.namespace}\`) or set temporal.namespace`,
        ),
      );
      return checks;
    }
    checks.push(await searchAttributes(client, cfg));
    const [workflows, activities] = await Promise.all([
      pollers(client, cfg, proto.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW),
      pollers(client, cfg, proto.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY),
    ]);
    const queue = `task queue ${cfg.temporal.taskQueue}`;
    checks.push(
      workflows > 0 && activities > 0
        ? ok(PART, 'workers', `${queue}: ${workflows} workflow and ${activities} activity poller(s)`)
        : warn(PART, 'workers', `no worker polls ${queue}: backups will wait`, 'start one: `lifeboat worker` with this configuration'),
    );
  } finally {
    await client.connection.close();
  }
  return checks;
}
