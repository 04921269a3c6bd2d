/**
 * Runs `work` over the items with at most `limit` calls in flight and keeps
 * the results in the items' order: GitHub's secondary rate limits punish
 * bursts of parallel reads and writes, and a sequential loop is needlessly slow.
 */
export async function mapLimited<T, R>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(Math.max(1, limit), items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await work(items[index], index);
      }
    }),
  );
  return results;
}
