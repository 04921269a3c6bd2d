/** fixloop's branches: every fix is pushed to `fixloop/…`, and nothing else is ever pushed to. */
export const FIX_BRANCH_PREFIX = "fixloop/";

export function isFixBranch(branch: string | null | undefined): boolean {
  return Boolean(branch?.startsWith(FIX_BRANCH_PREFIX));
}

/** `fixloop/run-<run_id>` for the first attempt, `fixloop/run-<run_id>-<n>` after. */
export function fixBranchName(chainRunId: string, attemptNumber: number): string {
  return attemptNumber <= 1 ? `${FIX_BRANCH_PREFIX}run-${chainRunId}` : `${FIX_BRANCH_PREFIX}run-${chainRunId}-${attemptNumber}`;
}
