import type {} from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode } from '@temporalio/worker';
import type { TestProject } from 'vitest/node';
import { ensureTemporalCli } from '../../scripts/temporal-cli';
import { WORKFLOWS_PATH } from '../../worker/workflows-path';
import { INCIDENT_SEARCH_ATTRIBUTES } from '../../workflows/incident/search-attributes';
import { freePort } from './ports';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    temporalCli: string;
    workflowBundlePath: string;
  }
}

/**
 * One Temporal development server for the whole run, on a free loopback port, and the
 * workflow code bundled once; every test file gets its own task queue and workflow ids.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const cli = await ensureTemporalCli();
  const port = await freePort();
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: cli },
      ip: '127.0.0.1',
      port,
      ui: false,
      searchAttributes: INCIDENT_SEARCH_ATTRIBUTES,
      log: { format: 'pretty', level: 'error' },
    },
  });

  const dir = mkdtempSync(path.join(os.tmpdir(), 'baton-bundle-'));
  const bundle = await bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    logger: {
      log: () => undefined,
      trace: () => undefined,
      debug: () => undefined,
      info: () => undefined,
      warn: console.warn,
      error: console.error,
    },
  });
  const bundlePath = path.join(dir, 'workflow-bundle.js');
  writeFileSync(bundlePath, bundle.code);

  project.provide('temporalAddress', env.address);
  project.provide('temporalCli', cli);
  project.provide('workflowBundlePath', bundlePath);

  return async () => {
    await env.teardown();
    rmSync(dir, { recursive: true, force: true });
  };
}
