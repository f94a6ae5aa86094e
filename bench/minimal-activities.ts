import path from 'node:path';
import { appendLine, safeName } from '../activities/files';

/** One line per workflow in `<dir>/<workflowId>.jsonl`, written the way Baton's outbox writes (fsynced). */
export function minimalLineFile(dir: string, workflowId: string): string {
  return path.join(dir, `${safeName(workflowId)}.jsonl`);
}

/**
 * The baseline's only side effect: the same fsynced append that writes a page to Baton's
 * outbox, its time stamped just before the write as the outbox stamps its entries.
 */
export function createMinimalActivities(dir: string) {
  return {
    async appendMinimalLine(workflowId: string): Promise<void> {
      await appendLine(minimalLineFile(dir, workflowId), JSON.stringify({ at: new Date().toISOString() }));
    },
  };
}
