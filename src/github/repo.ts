/** A repository as GitHub's REST API names it, and the `owner/name` slug fixloop stores. */
export interface RepoRef {
  owner: string;
  repo: string;
}

export function splitRepo(slug: string): RepoRef {
  const [owner, repo] = slug.split("/");
  return { owner, repo };
}
