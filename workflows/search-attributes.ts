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
