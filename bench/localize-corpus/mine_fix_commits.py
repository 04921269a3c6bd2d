#!/usr/bin/env python3
"""Adds pairs of (CI output, fixing commit) from commits that quote the failure they fix.

Maintainers often paste the failing CI output into the message of the commit that fixes it
(rails: "This commit addresses the following CI failure at Rails Nightly CI: <link> ```...```";
git.git and curl: indented compiler/test output; cargo, terraform, prometheus, vite,
typescript-eslint, composer likewise). Each such commit is one pair: the log is the quoted output
(only the quoted blocks that carry a failure shape, never the prose around them), the label is the
files the commit changed that exist at its parent, the tree is the parent's.

Selection, before looking at any localisation result: non-merge commits whose message has a quoted
block with a failure shape (compiler diagnostic, test-runner failure, panic, TAP `not ok`) and whose
message speaks of a failure (fail/error/break/warning) and names CI (CI, GitHub Actions, Travis, Buildkite…) or whose output carries a hosted runner's path; at most 15 files changed;
per repository the first PER_REPO by a hash of the sha. The dev/test split is the same hash rule as
build.py. Run after build.py (it replaces only the cases it made):
    python3 bench/localize-corpus/mine_fix_commits.py /work/.mirror
"""
import gzip, hashlib, json, os, re, subprocess, sys

from corpus_files import pack_trees, write_corpus

MIRROR = sys.argv[1] if len(sys.argv) > 1 else "/work/.mirror"
OUT = os.path.dirname(os.path.abspath(__file__))
PER_REPO = 10
MAX_FILES = 15
MAX_LOG_LINES = 160
MAX_LOG_BYTES = 12000
MAX_TEST_SOURCE = 40000
KIND = "ci-output-quoted-in-fix-commit"

REPOS = {
    "rails/rails": "ruby",
    "git/git": "c",
    "curl/curl": "c",
    "rust-lang/cargo": "rust",
    "hashicorp/terraform": "go",
    "prometheus/prometheus": "go",
    "vitejs/vite": "typescript",
    "typescript-eslint/typescript-eslint": "typescript",
    "composer/composer": "php",
    "sebastianbergmann/phpunit": "php",
    "nodejs/undici": "javascript",
    "babel/babel": "javascript",
    "pytest-dev/pytest": "python",
    "pypa/pip": "python",
    "rust-lang/rust-clippy": "rust",
    "etcd-io/etcd": "go",
    "grpc/grpc-go": "go",
}

# A line that only a failure prints, in the formats of the tools these projects run.
FAILURE_SHAPES = [
    r"\S+\.\w+:\d+:\d+: (?:fatal )?error\b",                 # gcc / clang / go vet
    r"\S+\.\w+:\d+:\d+: warning\b.*\[-W",                    # -Werror warnings
    r"^\s*error(?:\[E\d{4}\])?: ",                            # rustc / cargo
    r"^\s*--> \S+\.rs:\d+:\d+",
    r"panicked at ",
    r"^\s*--- FAIL: ",                                        # go test
    r"\S+_test\.go:\d+: ",
    r"^\s*(?:Failure|Error):\s*$",                            # minitest
    r"\[\S+\.rb:\d+\]:",
    r"\S+\.rb:\d+:in [`']",
    r"error TS\d+:",                                          # tsc
    r"^\s*(?:FAIL|×|✗|✕)\s+\S+\.(?:test|spec)\.[cm]?[jt]sx?",  # vitest / jest
    r"^\s*not ok \d+ ",                                       # TAP (git.git's test suite)
    r"Failed asserting that",                                 # PHPUnit
    r"PHP (?:Fatal error|Warning|Notice|Deprecated):",
    r"\S+\.php(?::| on line )\d+",
    r"^\s*\d+:\d+\s+error\s+",                                # ESLint stylish
    r"^\s*FAILED\b|^\s*Assertion .* failed",
    r'^\s*File "[^"]+", line \d+',                          # Python traceback / pytest
    r"^E\s{2,}\S",
    r"\S+\.py:\d+: \w+(?:Error|Exception|Warning)\b",
    r"^\s*at .*\(?\S+\.[cm]?[jt]sx?:\d+:\d+\)?$",           # Node stack frame
]
SHAPE = re.compile("|".join(f"(?:{s})" for s in FAILURE_SHAPES), re.M)
SPEAKS_OF_FAILURE = re.compile(r"\b(?:fail\w*|error\w*|break\w*|broke\w*|warn\w*|flak\w*)\b", re.I)
# The output comes from CI: the message names a CI service or says CI, or the output carries a
# hosted runner's workspace path.
NAMES_CI = re.compile(r"\b(?:CI|GHA|GitHub Actions?|Travis|AppVeyor|Azure Pipelines|Cirrus|Buildkite|buildbot|build ?farm|Jenkins|CircleCI|workflow|nightly build|build bot|runners?)\b")
CI_PATHS = re.compile(r"/home/runner/|/Users/runner/|[A-Z]:[\\/]a[\\/]|/home/travis/|/builds/|cirrus-ci-build|/github/workspace|/__w/|/home/circleci/|buildkite")


def git(repo, *args):
    return subprocess.run(["git", "--git-dir", repo, *args], capture_output=True, text=True, errors="replace").stdout


def h(text):
    return hashlib.sha1(text.encode()).hexdigest()


def mirror_dir(slug):
    base = os.path.join(MIRROR, slug.replace("/", "+"), "repo")
    return os.path.join(base, ".git") if os.path.isdir(os.path.join(base, ".git")) else base


def quoted_blocks(message):
    """Fenced (```) blocks, then runs of indented lines (4 spaces or a tab), dedented."""
    blocks = []
    lines = message.split("\n")
    i = 0
    while i < len(lines):
        if lines[i].strip().startswith("```"):
            j = i + 1
            while j < len(lines) and not lines[j].strip().startswith("```"):
                j += 1
            blocks.append(lines[i + 1:j])
            i = j + 1
            continue
        if re.match(r"^(?: {4}|\t)\S", lines[i]) or (re.match(r"^ {2,}\S", lines[i]) and SHAPE.search(lines[i])):
            j = i
            while j < len(lines) and (re.match(r"^(?: {2,}|\t)", lines[j]) or (lines[j].strip() == "" and j + 1 < len(lines) and re.match(r"^(?: {2,}|\t)\S", lines[j + 1]))):
                j += 1
            block = lines[i:j]
            indent = min(len(l) - len(l.lstrip()) for l in block if l.strip())
            blocks.append([l[indent:] for l in block])
            i = j
            continue
        i += 1
    return ["\n".join(b).strip("\n") for b in blocks]


def log_of(message):
    blocks = [b for b in quoted_blocks(message) if SHAPE.search(b)]
    if not blocks:
        return None
    text = "\n\n".join(blocks)
    return "\n".join(text.split("\n")[:MAX_LOG_LINES])[:MAX_LOG_BYTES] + "\n"


def candidates(repo):
    out = git(repo, "log", "--no-merges", "--format=%H%x00%P%x00%B%x01")
    for record in out.split("\x01"):
        record = record.strip("\n")
        if not record:
            continue
        sha, parents, body = record.split("\x00", 2)
        if " " in parents.strip() or not parents.strip():
            continue
        if not SPEAKS_OF_FAILURE.search(body):
            continue
        log = log_of(body)
        if log and (NAMES_CI.search(body) or CI_PATHS.search(log)):
            yield sha, parents.strip(), body, log


def main():
    cases = json.load(open(os.path.join(OUT, "cases.json")))
    cases = [c for c in cases if c.get("log_kind") != KIND]
    with gzip.open(os.path.join(OUT, "trees.json.gz"), "rt") as f:
        packed = json.load(f)
    with gzip.open(os.path.join(OUT, "tests.json.gz"), "rt") as f:
        tests = json.load(f)
    kept_ids = {c["id"] for c in cases}
    for project in list(packed):
        packed[project]["cases"] = {k: v for k, v in packed[project]["cases"].items() if k in kept_ids}
        if not packed[project]["cases"]:
            del packed[project]
    tests = {k: v for k, v in tests.items() if k in kept_ids}

    added = []
    for slug, language in REPOS.items():
        repo = mirror_dir(slug)
        if not os.path.isdir(repo):
            print(f"skip {slug}: no mirror at {repo}", file=sys.stderr)
            continue
        found = sorted(candidates(repo), key=lambda c: h(f"{slug}@{c[0]}"))
        project = "fix-" + slug.split("/")[1]
        trees = {}
        taken = 0
        for sha, parent, body, log in found:
            if taken >= PER_REPO:
                break
            changed = [p for p in git(repo, "diff-tree", "--no-commit-id", "--name-only", "-r", parent, sha).split("\n") if p]
            if not changed or len(changed) > MAX_FILES:
                continue
            tree = [p for p in git(repo, "ls-tree", "-r", "--name-only", parent).split("\n") if p]
            tree_set = set(tree)
            fixed = [p for p in changed if p in tree_set]
            if not fixed:
                continue
            cid = f"{project}-{sha[:10]}"
            with open(os.path.join(OUT, "logs", cid + ".log"), "w") as f:
                f.write(log)
            # Test files the quoted output names, as a job reading the failing test would see them.
            for path in tree:
                base = path.rsplit("/", 1)[-1]
                if re.search(r"(^|/)(tests?|spec|__tests__)/|_test\.\w+$|\.(test|spec)\.\w+$|^t\d{4}-", path) and re.search(rf"(?<![\w.-]){re.escape(base)}(?![\w-])", log):
                    text = git(repo, "show", f"{parent}:{path}")
                    if text:
                        tests.setdefault(cid, {})[path] = text[:MAX_TEST_SOURCE]
            subject = body.split("\n", 1)[0]
            added.append({
                "id": cid, "project": project, "repo": slug, "language": language,
                "failing_sha": parent, "fixed_sha": sha, "fixed_files": fixed,
                "log": f"logs/{cid}.log", "log_kind": KIND,
                "split": "dev" if int(h("split:" + cid)[:8], 16) % 2 == 0 else "test",
                "source": f"github.com/{slug}/commit/{sha} (\"{subject[:100]}\"): the CI output its message quotes; "
                          f"labels: the files it changed that exist at its parent; tree: github.com/{slug} at {parent}",
                "tree_note": "the fix commit's parent",
            })
            trees[cid] = tree
            taken += 1
        if trees:
            packed[project] = pack_trees(trees)
        print(f"{slug}: {len(found)} candidate commits, {taken} taken", file=sys.stderr)

    cases += added
    write_corpus(OUT, packed, tests, cases)
    print(f"{len(added)} fix-commit cases added ({sum(c['split'] == 'dev' for c in added)} dev / "
          f"{sum(c['split'] == 'test' for c in added)} test); corpus {len(cases)} cases")


if __name__ == "__main__":
    main()
