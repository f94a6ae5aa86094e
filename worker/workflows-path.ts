import { fileURLToPath } from 'node:url';

/** The workflow bundle's entry point, for the SDK's bundler. */
export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));
