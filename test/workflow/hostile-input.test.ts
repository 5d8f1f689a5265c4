// Hostile input to every workflow on the real Temporal server: each run fails at once with a
// non-retryable INVALID_INPUT failure, in its first workflow task, with no activity scheduled (not
// even a local one) and no workflow-task retry.
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { createBucket, startWorker, testConfig, uniqueName, type RunningWorker } from '../harness/services.js';
import { TRICKS, WORKFLOW_INPUTS } from '../harness/hostile.js';

const EventType = temporal.api.enums.v1.EventType;
let w: RunningWorker;
let cfg: ReturnType<typeof testConfig>;

beforeAll(async () => {
  cfg = testConfig({ bucket: await createBucket('lb-hostile'), databases: { orders: { url: 'postgres://nobody@127.0.0.1:1/orders' } } });
  w = await startWorker(cfg);
});

afterAll(async () => {
  await w?.stop();
});

/** A few hostile variants of a valid input: a trick in each field, a wrong type, an extra key, a 1 MB name. */
function variants(valid: Record<string, unknown>): unknown[] {
  const [first] = Object.keys(valid);
  return [
    { ...valid, [first!]: '../../etc/passwd' },
    { ...valid, [first!]: "x'; drop table users; --" },
    { ...valid, [first!]: '$(touch /tmp/pwned)' },
    { ...valid, [first!]: 'a'.repeat(1 << 20) },
    { ...valid, [first!]: TRICKS.find((t) => t.startsWith('\u202e')) },
    { ...valid, [first!]: 42 },
    { ...valid, extra: true },
    null,
  ];
}

for (const [workflow, { valid }] of Object.entries(WORKFLOW_INPUTS)) {
  test(`${workflow}: hostile inputs fail at once, non-retryable, with no activity and no workflow-task retry`, async () => {
    for (const input of variants(valid)) {
      const handle = await w.client.workflow.start(workflow, {
        taskQueue: cfg.temporal.taskQueue,
        workflowId: uniqueName(`hostile-${workflow}`),
        args: [input],
      });
      const err = await handle.result().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(WorkflowFailedError);
      const cause = (err as WorkflowFailedError).cause;
      expect(cause).toBeInstanceOf(ApplicationFailure);
      expect((cause as ApplicationFailure).type).toBe('INVALID_INPUT');
      expect((cause as ApplicationFailure).nonRetryable).toBe(true);
      expect(cause!.message).toMatch(new RegExp(`^Invalid input for ${workflow}: `));
      expect(cause!.message.length).toBeLessThanOrEqual(2000);
      const events = (await handle.fetchHistory()).events!.map((e) => e.eventType);
      expect(events.filter((t) => t === EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED)).toHaveLength(1);
      expect(events).not.toContain(EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED);
      expect(events).not.toContain(EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED);
      expect(events).not.toContain(EventType.EVENT_TYPE_MARKER_RECORDED);
      expect(events[events.length - 1]).toBe(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED);
    }
  });
}
