/**
 * Replays saved incident histories against the current workflow code; exits non-zero when
 * any of them no longer replays (a change that would break running incidents).
 *
 *   npx tsx scripts/replay-histories.ts [folder-or-file …]   (default: test/histories)
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { WORKFLOWS_PATH } from '../worker/workflows-path';
import { PROJECT_ROOT } from './temporal-cli';

function historyFiles(targets: string[]): string[] {
  return targets.flatMap((target) =>
    statSync(target).isDirectory()
      ? readdirSync(target)
          .filter((file) => file.endsWith('.json'))
          .sort()
          .map((file) => path.join(target, file))
      : [target],
  );
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const bundleIndex = args.indexOf('--bundle');
  const bundle = bundleIndex >= 0 ? args.splice(bundleIndex, 2)[1] : undefined;
  const files = historyFiles(args.length > 0 ? args : [path.join(PROJECT_ROOT, 'test', 'histories')]);
  if (files.length === 0) throw new Error('no histories to replay');
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const results = Worker.runReplayHistories(
    bundle ? { workflowBundle: { codePath: bundle } } : { workflowsPath: WORKFLOWS_PATH },
    files.map((file) => ({
      workflowId: path.basename(file, '.json'),
      history: JSON.parse(readFileSync(file, 'utf8')) as unknown,
    })),
  );
  let failed = 0;
  for await (const result of results) {
    if (result.error) {
      failed += 1;
      console.log(`FAIL ${result.workflowId}: ${result.error.message}`);
    } else {
      console.log(`ok   ${result.workflowId}`);
    }
  }
  console.log(`${files.length - failed} replayed, ${failed} failed`);
  if (failed > 0) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
