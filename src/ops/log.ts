/**
 * The server's logger: `info` unless LOG_LEVEL says otherwise (Probot's own
 * default is `warn`, which hid everything an operator needs), one line per
 * event, and error stacks only at `debug`/`trace`. LOG_FORMAT=json writes
 * pino's JSON lines; otherwise the same records, pretty but on one line.
 */
import { pino, stdSerializers, type Logger } from "pino";
import PinoPretty from "pino-pretty";

const LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

/**
 * An error already written to the log by whoever threw it (a failed delivery
 * is logged with its id by the handler): Probot's webhook error handler logs
 * every thrown error again, and those repeats are dropped here.
 */
export function markLogged<E extends Error>(error: E): E {
  return Object.assign(error, { alreadyLogged: true });
}

function wasLogged(value: unknown): boolean {
  return value instanceof Error && (value as { alreadyLogged?: unknown }).alreadyLogged === true;
}

/** "HttpError: Not Found (404)": what an error says, on one line. */
export function errorLine(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const extra = [(error as { code?: unknown }).code, (error as { status?: unknown }).status].filter((v) => v !== undefined && v !== null);
  const first = `${error.name}: ${error.message}`.split("\n")[0];
  return extra.length > 0 ? `${first} (${extra.join(", ")})` : first;
}

export function logLevelOf(env: NodeJS.ProcessEnv): (typeof LEVELS)[number] {
  const level = env.LOG_LEVEL?.trim().toLowerCase();
  return (LEVELS as readonly string[]).includes(level ?? "") ? (level as (typeof LEVELS)[number]) : "info";
}

export function createLog(env: NodeJS.ProcessEnv = process.env, destination?: NodeJS.WritableStream): Logger {
  const level = logLevelOf(env);
  const verbose = level === "debug" || level === "trace";
  const options: pino.LoggerOptions = {
    level,
    name: "fixloop",
    serializers: { err: verbose ? stdSerializers.err : (error: unknown) => errorLine(error) },
    hooks: {
      logMethod(args, method) {
        if (args.some(wasLogged)) return;
        method.apply(this, args as Parameters<typeof method>);
      },
    },
  };
  if (env.LOG_FORMAT === "json") return pino(options, destination ?? pino.destination({ dest: 1, sync: true }));
  const pretty = PinoPretty({
    singleLine: true,
    ignore: "pid,hostname",
    translateTime: "SYS:HH:MM:ss.l",
    colorize: env.NO_COLOR === undefined && Boolean((destination ?? process.stdout) === process.stdout && process.stdout.isTTY),
    destination: destination ?? 1,
    sync: true,
  });
  return pino(options, pretty);
}
