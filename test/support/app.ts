import type { FastifyInstance } from 'fastify';
import { buildApp, type AppDeps } from '../../api/app';
import type { BatonConfig } from '../../config/schema';
import { loadSecrets } from '../../config/secrets';
import type { TestWorker } from './worker';

export const TOKENS = {
  alice: 'alice-test-token',
  bob: 'bob-test-token',
  carol: 'carol-test-token',
  dave: 'dave-test-token',
  // 32 random bytes' worth, as start-up asks of a webhook token in the environment.
  webhook: 'webhook-test-token-0e7d4a9c2f5b8e1d6a3c0f9b4e7d2a5c',
} as const;

export const TOKEN_ENV = {
  TOKEN_ALICE: TOKENS.alice,
  TOKEN_BOB: TOKENS.bob,
  TOKEN_CAROL: TOKENS.carol,
  TOKEN_DAVE: TOKENS.dave,
  WEBHOOK_TOKEN: TOKENS.webhook,
};

/** The API wired to the test worker's task queue and Temporal client. */
export async function buildTestApp(
  w: TestWorker,
  config: BatonConfig = w.config,
  /** Tokens of responders beyond the four every test configuration has. */
  extraTokens: Record<string, string> = {},
  /** Dependencies to give instead of the defaults (a schedule store with its own clock). */
  deps: Pick<AppDeps, 'schedules'> = {},
): Promise<FastifyInstance> {
  const appConfig: BatonConfig = {
    ...config,
    temporal: { ...config.temporal, taskQueue: w.taskQueue },
    api: { ...config.api, alertmanager: { bearer: { tokenEnv: 'WEBHOOK_TOKEN' } } },
  };
  return buildApp({
    config: appConfig,
    secrets: loadSecrets(appConfig, { ...TOKEN_ENV, ...extraTokens }),
    temporal: w.client,
    ...deps,
  });
}

export function auth(who: keyof typeof TOKENS): { authorization: string } {
  return { authorization: `Bearer ${TOKENS[who]}` };
}
