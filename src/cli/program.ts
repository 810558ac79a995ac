import { Command, CommanderError, Option } from 'commander'
import packageJson from '../../package.json' with { type: 'json' }
import { type CliIo, EXIT, loadForCommand, writeLine } from './io.ts'
import { listCommand } from './list.ts'
import type { MuteFlags } from './mute.ts'
import { type CommonOptions, DEFAULTS, ENV_VARS, LOG_LEVELS, type RawFlags, resolveOptions } from './options.ts'
import type { RunOnceFlags } from './run-once.ts'
import { validateCommand } from './validate.ts'

/**
 * The `probe` command line. Every handler gets the streams, environment and
 * working directory through `io` and returns its exit code, so tests run the
 * real command in-process; only `bin/probe.js` touches `process`.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let exitCode: number = EXIT.ok
  const program = buildProgram(io, (code) => {
    exitCode = code
  })
  try {
    await program.parseAsync([...argv], { from: 'user' })
  } catch (error) {
    // Help and --version end in a CommanderError with exit code 0; anything else is a usage error (README "Commands": 2).
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage
    throw error
  }
  return exitCode
}

const CONFIG_GROUP = 'Configuration:'
const DAEMON_GROUP = 'Daemon:'

function buildProgram(io: CliIo, setExitCode: (code: number) => void): Command {
  const program = new Command('probe')
    .description('smokeprobe: end-to-end CRUD smoke probes, alerting after consecutive failures, Prometheus metrics')
    .version(packageJson.version)
    .exitOverride()
    .configureOutput({ writeOut: (text) => io.stdout.write(text), writeErr: (text) => io.stderr.write(text) })
    .showHelpAfterError('(run with --help for usage)')
  const act =
    <A extends unknown[]>(handler: (options: CommonOptions, ...args: A) => Promise<number>) =>
    async (...args: A) => {
      const command = args.at(-1) as Command
      const resolved = resolveOptions(command.opts() as RawFlags, io.env, io.cwd)
      if (!resolved.ok) {
        for (const error of resolved.errors) writeLine(io.stderr, `error: ${error}`)
        setExitCode(EXIT.usage)
        return
      }
      setExitCode(await handler(resolved.options, ...args))
    }

  const run = configFlags(program.command('run'))
    .description('run the daemon: schedule every probe, alert, serve /metrics; or, with --once, run every probe once and report')
    .option('--once', 'run every probe once, print a step-by-step report and exit (0 all passed, 1 any failed)')
    .option('--only <name>', 'with --once: run just this probe (repeatable)', collect)
    .option('--json', 'with --once: print one JSON document instead of the report')
  daemonFlags(run).action(
    act(async (options, flags: { once?: boolean; only?: string[]; json?: boolean; stateDir?: string }) => {
      if (!flags.once) {
        if (flags.only || flags.json) {
          writeLine(io.stderr, 'error: --only and --json need --once')
          return EXIT.usage
        }
        return runDaemonCommand(options)
      }
      // With --once, the state directory is used only when asked for: its cleanup journal (README "Cleanup journal").
      const stateDir = flags.stateDir !== undefined || io.env[ENV_VARS.stateDir]?.trim() ? options.stateDir : null
      return withInterrupt(io, (signal) => runOnce(options, { only: flags.only ?? [], json: flags.json ?? false, stateDir }, io, signal))
    }),
  )

  configFlags(program.command('validate'))
    .description('check every probe file and the alerting file; report every problem at once (exit 0 valid, 2 invalid)')
    .action(act((options) => validateCommand(options, io)))

  configFlags(program.command('list'))
    .description('list the probes, their schedule, timeout, steps and channels')
    .option('--json', 'print one JSON document instead of the table')
    .action(act((options, flags: { json?: boolean }) => listCommand(options, { json: flags.json ?? false }, io)))

  configFlags(program.command('sweep'))
    .description("run every probe's orphan sweep once and list what is deleted (exit 0 done, 1 a sweep failed)")
    .option('--dry-run', 'list what would be deleted, and delete nothing')
    .option('--only <name>', 'sweep just this probe (repeatable)', collect)
    .action(
      act(async (options, flags: { dryRun?: boolean; only?: string[] }) => {
        const { sweepCommand } = await import('./sweep.ts')
        return withInterrupt(io, (signal) => sweepCommand(options, { dryRun: flags.dryRun ?? false, only: flags.only ?? [] }, io, signal))
      }),
    )

  const alert = program.command('alert').description('alert channel commands')
  const alertTestCommand = configFlags(alert.command('test'))
    .description('send a clearly marked test notification through one channel of the alerting file (exit 0 delivered, 1 not)')
    .argument('<channel>', 'a channel name from the alerting file')
  alertTestCommand
    .addOption(flag(`--location <name>`, 'the vantage point named in the notification', 'location', DAEMON_GROUP))
    .action(act((options, channel: string) => alertTestHandler(options, channel, io)))

  program
    .command('mute')
    .description('mute probes on a running daemon for a while (POST /api/mutes); exit 0 done, 1 refused or unreachable')
    .option('--probe <name>', 'a probe to mute (repeatable)', collect)
    .option('--for <duration>', 'how long, at most 24h, e.g. 30m')
    .option('--reason <text>', 'why: the daemon logs it and lists it')
    .option('--list', 'list the live mutes instead')
    .option('--delete <id>', 'end a mute early instead')
    .option('--url <url>', "the daemon's address (env SMOKEPROBE_URL; default http://127.0.0.1:9464)")
    .option('--token-env <name>', 'the environment variable holding api.token (default SMOKEPROBE_API_TOKEN); never the token itself')
    .action(async (flags: MuteFlags) => {
      const { muteCommand } = await import('./mute.ts')
      setExitCode(await muteCommand({ ...flags, url: flags.url ?? (io.env.SMOKEPROBE_URL?.trim() || undefined) }, io))
    })

  return program
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value]
}

function flag(spec: string, description: string, key: keyof typeof ENV_VARS, group: string, fallback?: string): Option {
  const suffix = fallback ? `; default ${fallback}` : ''
  return new Option(spec, `${description} (env ${ENV_VARS[key]}${suffix})`).helpGroup(group)
}

function configFlags(command: Command): Command {
  return command
    .addOption(
      flag(
        '--probes <path>',
        'a probe file or a folder of them (its .yaml/.yml files), repeatable; the env var takes a comma-separated list',
        'probes',
        CONFIG_GROUP,
        DEFAULTS.probes,
      ).argParser(collect),
    )
    .addOption(flag('--alerting <file>', 'the alerting file', 'alerting', CONFIG_GROUP, `${DEFAULTS.alerting} when it exists`))
    .addOption(
      flag(
        '--secrets-dir <dir>',
        'where {{ secret.NAME }} reads the file NAME when the environment has no NAME',
        'secretsDir',
        CONFIG_GROUP,
        `${DEFAULTS.secretsDir} when it exists`,
      ),
    )
}

function daemonFlags(command: Command): Command {
  return command
    .addOption(flag('--listen <host:port>', 'address of /metrics, /healthz and the status page', 'listen', DAEMON_GROUP, DEFAULTS.listen))
    .addOption(flag('--state-dir <dir>', 'where alert state is kept across restarts', 'stateDir', DAEMON_GROUP, DEFAULTS.stateDir))
    .addOption(
      flag('--location <name>', 'the vantage point this instance probes from, a label on every metric and alert', 'location', DAEMON_GROUP),
    )
    .addOption(
      flag('--shard <i/n|auto>', 'run only the probes of shard i of n (0 ≤ i < n), hashed by name; auto: i is the StatefulSet pod ordinal', 'shard', DAEMON_GROUP),
    )
    .addOption(flag('--shards <n>', 'with --shard auto: the number of shards (the StatefulSet replicas)', 'shards', DAEMON_GROUP))
    .addOption(flag('--log-level <level>', `one of ${LOG_LEVELS.join(', ')}`, 'logLevel', DAEMON_GROUP, DEFAULTS.logLevel))
}

/**
 * Loaded lazily so that `validate` and `list` load neither the HTTP client
 * (undici) nor the logger (pino): a pre-commit hook pays only for loading.
 */
async function runOnce(options: CommonOptions, flags: RunOnceFlags, io: CliIo, signal: AbortSignal): Promise<number> {
  const { runOnceCommand } = await import('./run-once.ts')
  return runOnceCommand(options, flags, io, signal)
}

/** Loaded lazily so that `validate` and `list` do not load the daemon's modules. */
async function runDaemonCommand(options: CommonOptions): Promise<number> {
  const { runDaemon } = await import('../daemon/daemon.ts')
  return runDaemon(options)
}

async function alertTestHandler(options: CommonOptions, channel: string, io: CliIo): Promise<number> {
  const config = await loadForCommand(options, io, { alertingRequired: true })
  if (!config) return EXIT.usage
  const { alertTest } = await import('./alert-test.ts')
  return alertTest(config, channel, io, { location: options.location })
}

/**
 * The first Ctrl-C (or SIGTERM) aborts the runs in flight, which then report
 * as aborted (exit 1); a second one quits at once.
 */
async function withInterrupt(io: CliIo, run: (signal: AbortSignal) => Promise<number>): Promise<number> {
  const controller = new AbortController()
  const onSignal = () => {
    if (controller.signal.aborted) process.exit(130)
    writeLine(io.stderr, 'interrupted: stopping the runs (press Ctrl-C again to quit at once)')
    controller.abort(new DOMException('interrupted', 'AbortError'))
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  try {
    return await run(controller.signal)
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}
