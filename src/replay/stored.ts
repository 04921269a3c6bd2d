/**
 * Replaying a delivery from the inbox: a failed one is put back in the inbox
 * (requeueDelivery) and processed at once, like `fixloop replay` processes a
 * file; one already processed or ignored answers "duplicate" and nothing
 * happens twice; one still waiting is left to the processor ("queued").
 * Shared by `fixloop deliveries replay` and the dashboard.
 */
import { requeueDelivery, type Inbox, type ReceiveAnswer } from "../inbox/index.js";
import type { Store } from "../store/db.js";
import { getDelivery } from "../store/delivery-queries.js";

export type StoredReplay = { found: false } | { found: true; event: string; action: string | null; repo: string | null; answer: ReceiveAnswer };

export async function replayStoredDelivery(deps: { store: Store; inbox: Inbox }, id: string): Promise<StoredReplay> {
  const row = await getDelivery(deps.store.db, id);
  if (!row) return { found: false };
  const found = { found: true as const, event: row.event, action: row.action, repo: row.repoSlug };
  if (row.status === "processed" || row.status === "ignored") return { ...found, answer: { status: "duplicate" } };
  if (row.status === "failed") await requeueDelivery(deps.store.client, id);
  // A person asked for this one try: a failure is final here and reported back, not retried behind their back.
  const answer = await deps.inbox.processor.processById(id, { retry: false });
  return { ...found, answer: answer ?? { status: "queued" } };
}
