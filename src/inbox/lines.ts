/** One delivery's outcome on one line, for the log, `fixloop replay` and `fixloop deliveries replay`. */

export interface DeliveryLabel {
  id: string;
  event: string;
  action?: string | null;
  repo?: string | null;
}

type Outcome = { status: string; error?: string; note?: string };

/** A delivery's id, event, and the action and repository its payload names. */
export function deliveryLabel(id: string, event: string, payload: Record<string, unknown> | null): Required<DeliveryLabel> {
  const action = typeof payload?.action === "string" ? payload.action : null;
  const repository = payload?.repository as { full_name?: unknown; path_with_namespace?: unknown } | undefined;
  const project = payload?.project as { path_with_namespace?: unknown } | undefined;
  const repo = typeof repository?.full_name === "string" ? repository.full_name : typeof project?.path_with_namespace === "string" ? project.path_with_namespace : null;
  return { id, event, action, repo };
}

/** "delivery 1f2e… workflow_run.completed acme/widgets: processed (fix job 3 enqueued)". */
export function deliveryOutcomeLine(delivery: DeliveryLabel, answer: Outcome): string {
  const what = `${delivery.event}${delivery.action ? `.${delivery.action}` : ""}${delivery.repo ? ` ${delivery.repo}` : ""}`;
  const extra = answer.error ? ` (${answer.error})` : answer.note ? ` (${answer.note})` : "";
  return `delivery ${delivery.id} ${what}: ${answer.status}${extra}`;
}
