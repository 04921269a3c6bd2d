/**
 * Pieces of the operator's list filters (`fixloop jobs`, `fixloop feedback`,
 * the API): one status or several, the column compared, nothing when unset.
 */
import { eq, inArray, type Column, type SQL } from "drizzle-orm";

/** `column IN (…)` for one status or a list of them; undefined (no condition) when none is asked for. */
export function statusIs<S extends string>(column: Column, status: S | S[] | undefined): SQL | undefined {
  if (status === undefined) return undefined;
  return inArray(column, Array.isArray(status) ? status : [status]);
}

/** `column = value`, or no condition when the value is not given. */
export function equalsIfGiven(column: Column, value: string | undefined): SQL | undefined {
  return value === undefined ? undefined : eq(column, value);
}
