// Shared plumbing of the local servers: listening on loopback, closing, and
// reading `--name value` options when run as a script.

import { pathToFileURL } from 'node:url';

/** listen() and close() for a node:http server; listen rejects if the port is taken. */
export function lifecycle(server) {
  return {
    listen(port = 0, host = '127.0.0.1') {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve(server.address().port);
        });
      });
    },
    close: () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(resolve); }),
  };
}

/** True when the module with this import.meta.url is the script being run. */
export const isMain = (url) => Boolean(process.argv[1]) && url === pathToFileURL(process.argv[1]).href;

/** The value after `--name` on the command line, or the default. */
export function arg(name, dflt) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
}
