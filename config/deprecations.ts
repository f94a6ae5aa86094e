import type { BatonConfig } from './schema';

/**
 * Keys the configuration still accepts but Baton no longer uses. The schema is strict, so a
 * key is deprecated for a release (accepted, with a warning at start-up) before it is
 * removed and would stop start-up.
 */
export function deprecationsIn(config: BatonConfig): string[] {
  const warnings: string[] = [];
  config.teams.forEach((team, index) => {
    if (team.email !== undefined) {
      warnings.push(
        `teams[${index}].email is deprecated and ignored: Baton emails the people it pages ` +
          `(responders[].email) and the team's stakeholders (stakeholders.internal: [{ email: … }]); ` +
          `list ${team.email} there instead. The key will be removed in a later release.`,
      );
    }
  });
  return warnings;
}
