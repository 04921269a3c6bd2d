#!/usr/bin/env python3
"""Adds held-out pairs of (whole Travis CI job log, the next commit of the same branch) from LogChunks.

LogChunks (Brandt, Panichella, Zaidman, Beller: "LogChunks: A Data Set for Build Log Analysis",
MSR 2020; github.com/lacinoire/master-thesis, tool/samples/<Language>/<owner>@<repo>/failed/<job>.log)
holds real logs of failed Travis CI jobs. A log names the commit it built (`git checkout -qf <sha>`)
or the pull request (`refs/pull/<n>/merge`), never the build that turned green, so the fix is taken
by a rule fixed before any localisation was run:
  - a push build of commit C: the fix is C's first non-merge child in the repository;
  - a pull-request build: the failing commit F is the PR's last commit dated no later than the job's
    first Travis timestamp; the fix is the PR's next non-merge commit after F.
Labels are the files the fix changed that exist at the failing commit; the tree is the failing
commit's. One log per (repository, failing commit): the first by a hash of the job id. All cases go to
the held-out (test) split but the five used to design a rule (DESIGN). What these labels are not: a verified "this turned CI green" — the next
commit may change something else too (CI config, an unrelated file), which makes them conservative.
Run after build.py and mine_fix_commits.py (it replaces only its own cases):
    python3 bench/localize-corpus/mine_logchunks.py /work/.mirror
"""
import gzip, hashlib, json, os, re, subprocess, sys

from corpus_files import pack_trees, write_corpus

MIRROR = sys.argv[1] if len(sys.argv) > 1 else "/work/.mirror"
OUT = os.path.dirname(os.path.abspath(__file__))
LOGCHUNKS = "lacinoire+master-thesis"
KIND = "travis-log-logchunks-next-commit"
MAX_FILES = 15
MAX_LOG_BYTES = 150_000
MAX_TEST_SOURCE = 40000

# Looked at to design a rule (the five whose context named a fixed file that was not shown, before
# tokens took any extension and absolute paths): dev, not held out.
DESIGN = {"travis-composer-547593737", "travis-composer-547594407", "travis-composer-566982103", "travis-composer-567101801", "travis-symfony-567139043"}

# LogChunks sample directory -> (repository slug, language)
REPOS = {
    "PHP/composer@composer": ("composer/composer", "php"),
    "PHP/symfony@symfony": ("symfony/symfony", "php"),
    "PHP/bcit-ci@CodeIgniter": ("bcit-ci/CodeIgniter", "php"),
    "JavaScript/airbnb@javascript": ("airbnb/javascript", "javascript"),
    "Rust/BurntSushi@ripgrep": ("BurntSushi/ripgrep", "rust"),
    "Rust/jwilm@alacritty": ("alacritty/alacritty", "rust"),
}


def git(repo, *args):
    return subprocess.run(["git", "--git-dir", repo, *args], capture_output=True, text=True, errors="replace").stdout


def h(text):
    return hashlib.sha1(text.encode()).hexdigest()


def mirror(slug):
    return os.path.join(MIRROR, slug.replace("/", "+"), "repo")


def first_timestamp(log):
    m = re.search(r"start=(\d{19})", log)
    return int(m.group(1)) // 1_000_000_000 if m else None


def commit_pair(repo, log):
    """(failing sha, fixing sha, how) by the rule above, or None."""
    push = re.search(r"git checkout -qf ([0-9a-f]{40})", log)
    if push:
        sha = push.group(1)
        if git(repo, "cat-file", "-t", sha).strip() != "commit":
            return None
        children = []
        for line in git(repo, "rev-list", "--all", "--parents", f"^{sha}").split("\n"):
            parts = line.split()
            if len(parts) == 2 and parts[1] == sha:  # non-merge children only
                children.append(parts[0])
        if not children:
            return None
        child = min(children, key=lambda c: int(git(repo, "log", "-1", "--format=%ct", c).strip() or 0))
        return sha, child, "push build; the fix is the failing commit's first non-merge child"
    pr = re.search(r"refs/pull/(\d+)/merge", log)
    started = first_timestamp(log)
    if not pr or started is None:
        return None
    head = f"refs/pull/{pr.group(1)}/head"
    # The PR's own commits, oldest first: on its head, not on the base's first-parent history.
    merge = f"refs/pull/{pr.group(1)}/merge"
    base = git(repo, "rev-parse", "--verify", "-q", f"{merge}^1").strip()
    range_ = [head] + ([f"^{base}"] if base else [])
    commits = [l.split() for l in git(repo, "rev-list", "--reverse", "--format=%H %ct %P", "--no-commit-header", *range_).split("\n") if l.strip()]
    if not commits:
        # Older git prints "commit <sha>" headers: fall back to two calls.
        shas = git(repo, "rev-list", "--reverse", *range_).split()
        commits = [[s, git(repo, "log", "-1", "--format=%ct", s).strip(), *git(repo, "log", "-1", "--format=%P", s).split()] for s in shas]
    failing = None
    for i, c in enumerate(commits):
        if int(c[1]) <= started:
            failing = i
    if failing is None:
        return None
    for c in commits[failing + 1:]:
        if len(c) == 3:  # one parent: not a merge of the base into the PR
            return commits[failing][0], c[0], f"pull request #{pr.group(1)} build; the fix is the PR's next non-merge commit after the one built"
    return None


def main():
    cases = [c for c in json.load(open(os.path.join(OUT, "cases.json"))) if c.get("log_kind") != KIND]
    with gzip.open(os.path.join(OUT, "trees.json.gz"), "rt") as f:
        packed = json.load(f)
    with gzip.open(os.path.join(OUT, "tests.json.gz"), "rt") as f:
        tests = json.load(f)
    kept = {c["id"] for c in cases}
    for project in list(packed):
        packed[project]["cases"] = {k: v for k, v in packed[project]["cases"].items() if k in kept}
        if not packed[project]["cases"]:
            del packed[project]
    tests = {k: v for k, v in tests.items() if k in kept}

    chunks = mirror(LOGCHUNKS)
    chunks_head = git(chunks, "rev-parse", "HEAD").strip()
    files = git(chunks, "ls-tree", "-r", "--name-only", "HEAD").split("\n")
    added = []
    for sample, (slug, language) in REPOS.items():
        repo = mirror(slug)
        if not os.path.isdir(repo):
            print(f"skip {slug}: no mirror", file=sys.stderr)
            continue
        project = "travis-" + slug.split("/")[1].lower()
        logs = sorted((f for f in files if f.startswith(f"tool/samples/{sample}/failed/") and f.endswith(".log")), key=lambda f: h(f))
        seen = set()
        trees = {}
        for path in logs:
            log = git(chunks, "show", f"HEAD:{path}")
            pair = commit_pair(repo, log)
            if not pair or pair[0] in seen:
                continue
            failing, fix, how = pair
            changed = [p for p in git(repo, "diff-tree", "--no-commit-id", "--name-only", "-r", failing, fix).split("\n") if p]
            if not changed or len(changed) > MAX_FILES:
                continue
            tree = [p for p in git(repo, "ls-tree", "-r", "--name-only", failing).split("\n") if p]
            tree_set = set(tree)
            fixed = [p for p in changed if p in tree_set]
            if not fixed:
                continue
            seen.add(failing)
            job = path.rsplit("/", 1)[-1][:-4]
            cid = f"{project}-{job}"
            text = log if len(log) <= MAX_LOG_BYTES else log[-MAX_LOG_BYTES:]
            with open(os.path.join(OUT, "logs", cid + ".log"), "w") as f:
                f.write(text)
            for p in tree:
                base = p.rsplit("/", 1)[-1]
                if re.search(r"(^|/)(tests?|spec|__tests__)/|_test\.\w+$|\.(test|spec)\.\w+$|Test\.php$", p) and re.search(rf"(?<![\w.-]){re.escape(base)}(?![\w-])", text):
                    source = git(repo, "show", f"{failing}:{p}")
                    if source:
                        tests.setdefault(cid, {})[p] = source[:MAX_TEST_SOURCE]
            subject = git(repo, "log", "-1", "--format=%s", fix).strip()
            added.append({
                "id": cid, "project": project, "repo": slug, "language": language,
                "failing_sha": failing, "fixed_sha": fix, "fixed_files": fixed,
                "log": f"logs/{cid}.log", "log_kind": KIND, "split": "dev" if cid in DESIGN else "test",
                "source": f"LogChunks github.com/lacinoire/master-thesis/blob/{chunks_head}/{path} (Travis CI job {job} of github.com/{slug}); "
                          f"{how}: github.com/{slug}/commit/{fix} (\"{subject[:80]}\"); labels: the files it changed that exist at "
                          f"{failing}; tree: github.com/{slug} at {failing}",
                "tree_note": "the commit the failing job built",
            })
            trees[cid] = tree
        if trees:
            packed[project] = pack_trees(trees)
        print(f"{slug}: {len(logs)} logs, {len(trees)} pairs", file=sys.stderr)

    cases += added
    write_corpus(OUT, packed, tests, cases)
    print(f"{len(added)} LogChunks cases added ({sum(c['split'] == 'dev' for c in added)} dev); corpus {len(cases)} cases")


if __name__ == "__main__":
    main()
