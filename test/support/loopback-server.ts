/**
 * The servers tests stand up (stand-ins for Loki, Elasticsearch, Slack; a metrics page; an
 * alert receiver) listen on a free loopback port and close at once when the test is done.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Listens on 127.0.0.1 on a port the system picks; resolves with that port. */
export async function listenOnLoopback(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/**
 * Closes the server without waiting for clients' keep-alive connections to time out: a
 * test's server holds nothing anyone waits for.
 */
export function closeNow(server: Server): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.close((err) => (err ? reject(err) : resolve()));
    server.closeAllConnections();
  });
}
