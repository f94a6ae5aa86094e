/**
 * What the Temporal UI lists and filters by. Search attributes are upserted only when one
 * of them changed, each upsert being a command in the incident's history.
 */
import { upsertSearchAttributes } from '@temporalio/workflow';
import type { Incident } from './incident-context';
import { searchAttributesOf } from './search-attributes';

/** Returns a function that publishes the incident's search attributes when they changed. */
export function searchAttributePublisher(incident: Incident): () => void {
  let published: Record<string, string> = {};
  return () => {
    const current = searchAttributesOf(incident.state);
    if (Object.entries(current).every(([key, value]) => published[key] === value)) return;
    published = current;
    upsertSearchAttributes(Object.fromEntries(Object.entries(current).map(([key, value]) => [key, [value]])));
  };
}
