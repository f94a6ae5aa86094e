// The worker's workflow bundle: every workflow type Baton runs.
export { incidentWorkflow } from './incident/incident';
export { scheduleWorkflow } from './schedule/schedule';
