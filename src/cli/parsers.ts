/** commander argument parsers the subcommands share (nothing else imported: `fixloop apply` starts without the store or Probot). */
import { InvalidArgumentError } from "commander";

/** commander's argument parser for a positive integer (an option's value or an argument); commander names the option in the error. */
export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("expected a positive integer");
  return n;
}
