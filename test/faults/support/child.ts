/**
 * Starts support/worker-child.ts (or another entry beside it, such as
 * server-child.ts) as a real node process (node --import tsx, no wrapper
 * process in between, so a signal reaches the process itself).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

const WORKER_ENTRY = fileURLToPath(new URL("./worker-child.ts", import.meta.url));
/** The same network fence as the test process: only loopback names resolve. */
const OFFLINE = fileURLToPath(new URL("./setup.ts", import.meta.url));
const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));

export interface WorkerProcess {
  child: ChildProcess;
  pid: number;
  /** Everything the process wrote so far (for failure messages). */
  output(): string;
  /** Resolves once the worker polls; rejects if the process ends first. */
  ready: Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startWorkerProcess(env: Record<string, string>, entry = WORKER_ENTRY): WorkerProcess {
  const child = spawn(process.execPath, ["--import", "tsx", "--import", OFFLINE, entry], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", TMPDIR: process.env.TMPDIR ?? "/tmp", NODE_ENV: "test", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let text = "";
  child.stdout!.on("data", (chunk: Buffer) => (text += chunk.toString("utf8")));
  child.stderr!.on("data", (chunk: Buffer) => (text += chunk.toString("utf8")));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  const ready = new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      if (chunk.toString("utf8").includes("ready")) {
        child.stdout!.off("data", onData);
        resolve();
      }
    };
    child.stdout!.on("data", onData);
    void exited.then(({ code, signal }) => reject(new Error(`worker process ended before it was ready (code ${code}, signal ${signal}):\n${text}`)));
  });
  ready.catch(() => undefined);
  if (child.pid === undefined) throw new Error("could not start the worker process");
  return { child, pid: child.pid, output: () => text, ready, exited };
}
