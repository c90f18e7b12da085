import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { EtlError, ExitCode } from '../errors.js';
import { originWeb } from '../github/remote.js';
import { LedgerStore } from '../ledger/store.js';
import { cachedDefinitions } from '../ui/cached-definitions.js';
import { startUiServer } from '../ui/server.js';
import { defineCommand } from './usage.js';
import { digitsValue } from './options.js';

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export const command = defineCommand({
  synopsis: ['etl ui [--port 8080] [--host 127.0.0.1] [--open] [--allow-run]'],
  description: `Serves a live web view of the ledger: every sequence with its schedule, last run and recent
runs, today's counts, updated as runs go (Server-Sent Events from a watch of runs/), and the
JSON API it reads (/api/sequences, /api/runs, /api/runs/ID, /api/runs/ID/definitions,
/api/runs/ID/steps/N/log, /api/events), and the ledger's metrics for Prometheus at /metrics.
Read-only unless --allow-run. Runs until interrupted (Ctrl-C).`,
  options: {
    port: { type: 'string', default: '8080', value: 'N', help: 'the port (default 8080; 0: any free one)' },
    host: {
      type: 'string',
      default: '127.0.0.1',
      value: 'H',
      help: 'the address to listen on (default 127.0.0.1: this machine only)',
    },
    open: { type: 'boolean', default: false, help: 'open the page in the default browser' },
    'allow-run': {
      type: 'boolean',
      default: false,
      help: 'buttons to run a sequence, cancel a run, re-run from the failed step; only from the printed URL, which carries a random token',
    },
  },
  async run(values, positionals, context) {
    if (positionals.length > 0) throw new EtlError('usage', `ui takes no arguments, got "${positionals.join(' ')}"`);
    const port = digitsValue(values.port) ?? -1;
    if (port < 0 || port > 65535)
      throw new EtlError('usage', `--port must be a port number (0 to 65535), got "${values.port}"`);
    const { host } = values;
    const store = await LedgerStore.open(context.repo, { env: context.env });
    const token = values['allow-run'] ? randomBytes(24).toString('base64url') : undefined;
    let started: Awaited<ReturnType<typeof startUiServer>>;
    try {
      started = await startUiServer({
        repo: context.repo,
        store,
        remote: await originWeb(context.repo, context.env),
        host,
        port,
        now: () => new Date(),
        definitions: cachedDefinitions(context.repo, context.env),
        env: context.env,
        actions: token
          ? {
              token,
              repo: context.repo,
              store,
              env: context.env,
              log: (line) => context.stdout.write(`etl ui: ${new Date().toISOString()} ${line}\n`),
            }
          : undefined,
      });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE')
        throw new EtlError('usage', `port ${port} is in use on ${host}: choose another with --port`);
      if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND')
        throw new EtlError('usage', `cannot listen on "${host}": not an address of this machine`);
      throw error;
    }
    const reach = LOOPBACK.has(host)
      ? 'this machine only'
      : `WARNING: anyone who can reach this address can read the ledger, logs included${token ? ', and the token in the URL is all that stands between them and running or cancelling sequences' : ''}`;
    const address = token ? `${started.url}?token=${token}` : started.url;
    context.stdout.write(`etl ui: serving the ledger of ${context.repo} at ${address} (${host}: ${reach})\n`);
    if (token) context.stdout.write('etl ui: --allow-run: runs may be started and cancelled from that URL only\n');
    if (values.open) openBrowser(address, context.env);
    await new Promise<void>((resolve) => {
      const stop = () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        started.server.close(() => resolve());
        started.server.closeAllConnections();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    return ExitCode.ok;
  },
});

/** --open: the system's opener; a machine without one (a server) just has the printed URL. */
function openBrowser(url: string, env: NodeJS.ProcessEnv): void {
  const [command, ...args] =
    process.platform === 'darwin'
      ? ['open', url]
      : process.platform === 'win32'
        ? ['cmd', '/c', 'start', '', url]
        : ['xdg-open', url];
  const child = spawn(command!, args, { env, stdio: 'ignore', detached: true });
  child.on('error', () => {});
  child.unref();
}
