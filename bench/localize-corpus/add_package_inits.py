#!/usr/bin/env python3
"""Adds to tests.json.gz the `__init__.py` of the packages each Python case's failing tests import from.

A job that follows a package's re-exports (`from pkg import Name` where `pkg/__init__.py` says
`from .mod import Name`) reads that `__init__.py` at the failing commit; the bench can only show
what the corpus stores. For every Python case, every `from X import …` / `import X` of its stored
test sources whose X is a package of the tree (`…/X/__init__.py`, matched by path suffix) gets that
file's source at the failing commit (first 40 KB). Run after build.py and mine_fix_commits.py:
    python3 bench/localize-corpus/add_package_inits.py /work/.mirror
"""
import gzip, json, os, re, subprocess, sys

MIRROR = sys.argv[1] if len(sys.argv) > 1 else "/work/.mirror"
OUT = os.path.dirname(os.path.abspath(__file__))
MAX_SOURCE = 40000


def git(repo, *args):
    return subprocess.run(["git", "--git-dir", repo, *args], capture_output=True, text=True, errors="replace").stdout


def mirror_dir(slug):
    base = os.path.join(MIRROR, slug.replace("/", "+"), "repo")
    return os.path.join(base, ".git") if os.path.isdir(os.path.join(base, ".git")) else base


def main():
    cases = json.load(open(os.path.join(OUT, "cases.json")))
    with gzip.open(os.path.join(OUT, "trees.json.gz"), "rt") as f:
        packed = json.load(f)
    with gzip.open(os.path.join(OUT, "tests.json.gz"), "rt") as f:
        tests = json.load(f)
    added = 0
    for case in cases:
        if case["language"] != "python" or case["id"] not in tests:
            continue
        repo = mirror_dir(case["repo"])
        if not os.path.isdir(repo):
            print(f"skip {case['id']}: no mirror of {case['repo']}", file=sys.stderr)
            continue
        p = packed[case["project"]]
        delta = p["cases"][case["id"]]
        removed = set(delta["remove"])
        tree = [x for x in p["base"] if x not in removed] + delta["add"]
        inits = [x for x in tree if x.endswith("/__init__.py")]
        stored = tests[case["id"]]
        modules = set()
        for path, text in list(stored.items()):
            if not path.endswith(".py") or path.endswith("__init__.py"):
                continue
            modules.update(m.group(1) for m in re.finditer(r"^\s*from\s+([\w.]+)\s+import\b", text, re.M))
            modules.update(m.group(1) for m in re.finditer(r"^\s*import\s+([\w.]+)", text, re.M))
        for module in sorted(modules):
            parts = module.split(".")
            # The package itself and each enclosing package: `a.b` may be a module of package `a`.
            for n in range(len(parts), 0, -1):
                suffix = "/".join(parts[:n]) + "/__init__.py"
                found = [x for x in inits if x == suffix or x.endswith("/" + suffix)]
                if len(found) == 1 and found[0] not in stored:
                    text = git(repo, "show", f"{case['failing_sha']}:{found[0]}")
                    if text.strip():
                        stored[found[0]] = text[:MAX_SOURCE]
                        added += 1
                if found:
                    break
    with gzip.open(os.path.join(OUT, "tests.json.gz"), "wt") as f:
        json.dump(tests, f, separators=(",", ":"))
    print(f"{added} package __init__.py sources added")


if __name__ == "__main__":
    main()
