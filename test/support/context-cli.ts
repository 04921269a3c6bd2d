import { Command } from "commander";
import { vi } from "vitest";
import { registerContextCommand } from "../../src/cli/context.js";

/** Runs `fixloop context ARGS` in-process and returns what it printed. */
export async function runContextCli(args: string[]): Promise<string> {
  const program = new Command().exitOverride();
  registerContextCommand(program);
  let out = "";
  const write = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    out += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
    return true;
  });
  try {
    await program.parseAsync(["node", "fixloop", "context", ...args]);
  } finally {
    write.mockRestore();
  }
  return out;
}
