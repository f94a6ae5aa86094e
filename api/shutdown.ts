import type { FastifyInstance } from 'fastify';

/** After the grace time, how long the connections cut then may take to close before giving up. */
const AFTER_CUT_MS = 5_000;
const IDLE_SWEEP_MS = 100;

/**
 * Closes the API the way SIGTERM asks: it stops listening at once (new connections are
 * refused, and a request arriving on a kept-alive connection is answered 503, Fastify's
 * return503OnClosing, so a load balancer moves on), the requests under way finish, and
 * after `graceMs` the connections still open are cut. Resolves with whether every request
 * finished in time.
 */
export async function closeGracefully(app: FastifyInstance, graceMs: number): Promise<boolean> {
  const closed = app.close().then(() => true as const);
  // Node closes the connections idle when closing starts; a kept-alive connection whose
  // request finishes later would stay open until its keep-alive timeout (72 s) and hold the
  // process. Closing the idle ones as they come lets the close end with the last request.
  const sweep = setInterval(() => app.server.closeIdleConnections(), IDLE_SWEEP_MS);
  try {
    return await closeWithin(app, closed, graceMs);
  } finally {
    clearInterval(sweep);
  }
}

async function closeWithin(app: FastifyInstance, closed: Promise<true>, graceMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const wait = (ms: number): Promise<false> =>
    new Promise((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    });
  const inTime = await Promise.race([closed, wait(graceMs)]);
  clearTimeout(timer);
  if (inTime) return true;
  app.server.closeAllConnections();
  await Promise.race([closed, wait(AFTER_CUT_MS)]);
  clearTimeout(timer);
  return false;
}
