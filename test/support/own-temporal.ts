import { TestWorkflowEnvironment } from '@temporalio/testing';
import { inject } from 'vitest';
import { INCIDENT_SEARCH_ATTRIBUTES } from '../../workflows/incident/search-attributes';
import { freePort } from './ports';
import { installTestRuntime } from './worker';

/**
 * A Temporal development server of one test file's own, for incidents that other files must
 * never list: the run's shared server keeps every test's workflows visible to every list
 * (an encrypted memo, say, that a plain client cannot read).
 */
export async function startOwnTemporal(): Promise<{ address: string; stop(): Promise<void> }> {
  installTestRuntime();
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: inject('temporalCli') },
      ip: '127.0.0.1',
      port: await freePort(),
      ui: false,
      searchAttributes: INCIDENT_SEARCH_ATTRIBUTES,
      log: { format: 'pretty', level: 'error' },
    },
  });
  return { address: env.address, stop: () => env.teardown() };
}
