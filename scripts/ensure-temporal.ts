import { ensureTemporalCli, TemporalCliUnavailable, temporalCliVersion } from './temporal-cli';

ensureTemporalCli()
  .then((cli) => {
    console.log(`Temporal CLI: ${cli} (${temporalCliVersion(cli)})`);
  })
  .catch((err: unknown) => {
    console.error(err instanceof TemporalCliUnavailable ? err.message : err);
    process.exitCode = 1;
  });
