import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * What an operator filters incidents by in the Temporal UI and what the API lists by.
 * The server must know them before a workflow can set them; Baton's launcher registers them.
 */
export const incidentStatusKey = defineSearchAttributeKey('IncidentStatus', SearchAttributeType.KEYWORD);
export const incidentSeverityKey = defineSearchAttributeKey('IncidentSeverity', SearchAttributeType.KEYWORD);
export const incidentServiceKey = defineSearchAttributeKey('IncidentService', SearchAttributeType.KEYWORD);
export const incidentTeamKey = defineSearchAttributeKey('IncidentTeam', SearchAttributeType.KEYWORD);
export const incidentAssigneeKey = defineSearchAttributeKey('IncidentAssignee', SearchAttributeType.KEYWORD);

export const INCIDENT_SEARCH_ATTRIBUTES = [
  incidentStatusKey,
  incidentSeverityKey,
  incidentServiceKey,
  incidentTeamKey,
  incidentAssigneeKey,
];

/** Shown for an incident nobody holds yet. */
export const UNASSIGNED = 'unassigned';

/**
 * The one mapping from the record to what operators filter by: the incident's phase is its
 * IncidentStatus, and whoever holds it (the acknowledger, then Level 3) its IncidentAssignee.
 */
export function searchAttributesOf(state: {
  phase: string;
  severity: string;
  service: string;
  team: string;
  holder?: string;
}): Record<string, string> {
  return {
    [incidentStatusKey.name]: state.phase,
    [incidentSeverityKey.name]: state.severity,
    [incidentServiceKey.name]: state.service,
    [incidentTeamKey.name]: state.team,
    [incidentAssigneeKey.name]: state.holder ?? UNASSIGNED,
  };
}
