#!/usr/bin/env python3
"""Adds `pr_files` to the pull-request cases: the files the job would get from the pull request.

For a failing pull-request build, fixloop reads the PR's files (`GET /pulls/{n}/files`, one page of
100) and weighs them against the log's evidence (src/fix/localize/github.ts). At the time of the
failure that list is the diff between the PR's base and the failing commit, which the mirror gives:
  - the base branch is `refs/pull/<n>/merge^1` when the mirror still has that ref; otherwise the
    branch head (`refs/heads/*`) whose merge-base with the failing commit leaves the fewest commits
    on the PR side (a PR is the few commits its branch adds to its base);
  - `pr_files`: `git diff --name-only <merge-base> <failing>`, sorted by path as GitHub lists them,
    the first 100 (deleted files included: the ranker drops what the tree does not hold);
  - a case whose PR side has more than 250 commits gets none (no credible base found).
Chosen before measuring with it; it uses nothing of the fix commit. Run after mine_logchunks.py:
    python3 bench/localize-corpus/add_pr_files.py /work/.mirror
"""
import json, os, re, sys

# The same mirror layout and git runner as the script run before this one.
from add_package_inits import git, mirror_dir

OUT = os.path.dirname(os.path.abspath(__file__))
PAGE = 100
MAX_PR_COMMITS = 250


def pr_base(repo, failing, number):
    """(merge-base, commits on the PR side) by the rule above, or None."""
    merge_parent = git(repo, "rev-parse", "--verify", "-q", f"refs/pull/{number}/merge^1").strip()
    bases = [merge_parent] if merge_parent else git(repo, "for-each-ref", "--format=%(objectname)", "refs/heads").split()
    best = None
    for base in bases:
        mb = git(repo, "merge-base", base, failing).strip()
        if not mb:
            continue
        ahead = int(git(repo, "rev-list", "--count", f"{mb}..{failing}").strip() or 0)
        if ahead > 0 and (best is None or ahead < best[1]):
            best = (mb, ahead)
    return best


def main():
    path = os.path.join(OUT, "cases.json")
    cases = json.load(open(path))
    for case in cases:
        case.pop("pr_files", None)
        case.pop("pr_base", None)
        m = re.search(r"pull request #(\d+) build", case.get("source", ""))
        if not m:
            continue
        repo = mirror_dir(case["repo"])
        found = pr_base(repo, case["failing_sha"], m.group(1))
        if found is None or found[1] > MAX_PR_COMMITS:
            print(f"{case['id']}: no credible base ({found})", file=sys.stderr)
            continue
        mb, ahead = found
        files = sorted(f for f in git(repo, "diff", "--name-only", "--no-renames", mb, case["failing_sha"]).split("\n") if f)
        case["pr_base"] = mb
        case["pr_files"] = files[:PAGE]
        print(f"{case['id']}: PR #{m.group(1)}, {ahead} commit(s) over {mb[:10]}, {len(files)} file(s)")
    with open(path, "w") as f:
        json.dump(cases, f, indent=1, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    main()
