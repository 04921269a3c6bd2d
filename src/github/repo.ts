/** A repository as GitHub's REST API names it, and the `owner/name` slug fixloop stores. */
export interface RepoRef {
  owner: string;
  repo: string;
}

/** `owner/name` → its parts; anything else (a URL, a path, a bare name) is refused, so it never reaches a request URL. */
export function splitRepo(slug: string): RepoRef {
  const match = /^([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+)$/.exec(slug.trim());
  if (!match) throw new Error(`Expected a repository as owner/repo, got "${slug}"`);
  return { owner: match[1], repo: match[2] };
}
