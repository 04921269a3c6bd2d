#!/usr/bin/env python3
"""Builds the localisation corpus (bench/localize-corpus) from public datasets.

Inputs (local git mirrors of public repositories, see SOURCES.md):
  - rjust/defects4j: framework/projects/<P>/{active-bugs.csv,trigger_tests/<id>,patches/<id>.src.patch}
  - soarsmu/BugsInPy: projects/<p>/{project.info,bugs/<id>/{bug.info,bug_patch.txt,run_test.sh}}
  - the upstream repository of each project, for the file tree at the failing commit.

Cases are picked per project by a hash of their id (no looking at the content first),
and split into dev/test by another hash. Run: python3 bench/localize-corpus/build.py /work/.mirror
"""
import hashlib, json, os, re, subprocess, sys

from corpus_files import pack_trees, write_corpus

MIRROR = sys.argv[1] if len(sys.argv) > 1 else "/work/.mirror"
OUT = os.path.dirname(os.path.abspath(__file__))
PER_PROJECT = 5
MAX_LOG_LINES = 160
MAX_LOG_BYTES = 12000

D4J = {
    "Cli": "apache/commons-cli", "Closure": "google/closure-compiler", "Codec": "apache/commons-codec",
    "Collections": "apache/commons-collections", "Compress": "apache/commons-compress", "Csv": "apache/commons-csv",
    "Gson": "google/gson", "JacksonCore": "FasterXML/jackson-core", "JacksonDatabind": "FasterXML/jackson-databind",
    "JacksonXml": "FasterXML/jackson-dataformat-xml", "Jsoup": "jhy/jsoup", "JxPath": "apache/commons-jxpath",
    "Lang": "apache/commons-lang", "Math": "apache/commons-math", "Mockito": "mockito/mockito", "Time": "JodaOrg/joda-time",
}
BUGSINPY_SKIP = {"matplotlib", "pandas"}  # upstream mirrors too large to fetch here


def git(repo, *args):
    return subprocess.run(["git", "--git-dir", repo, *args], capture_output=True, text=True, errors="replace").stdout


def mirror_dir(slug):
    base = os.path.join(MIRROR, slug.replace("/", "+"), "repo")
    return os.path.join(base, ".git") if os.path.isdir(os.path.join(base, ".git")) else base


def h(text):
    return hashlib.sha1(text.encode()).hexdigest()


def patch_files(patch):
    files = []
    for m in re.finditer(r"^diff --git a/(\S+) b/(\S+)$", patch, re.M):
        if m.group(2) not in files:
            files.append(m.group(2))
    return files


def tree_at(repo, sha):
    out = git(repo, "ls-tree", "-r", "--name-only", sha)
    return [p for p in out.split("\n") if p]


def failing_tree(repo, buggy, fixed):
    """The tree CI saw failing: the buggy commit plus the tests the fix added (the datasets run the fixed
    version's tests against the buggy code, and a test that does not exist cannot fail)."""
    tree = tree_at(repo, buggy)
    if fixed:
        have = set(tree)
        tree += [p for p in tree_at(repo, fixed) if p not in have and re.search(r"(^|/)(tests?|testing)/|Test\w*\.java$|test_\w+\.py$|_test\.py$", p)]
    return tree


def trim(log):
    lines = log.split("\n")[:MAX_LOG_LINES]
    text = "\n".join(lines)
    return text[:MAX_LOG_BYTES]


cases, trees, imports = [], {}, {}



MAX_TEST_SOURCE = 40000


def test_source(repo, shas, path):
    """A failing test's source as CI ran it (the fix commit's version when the fix added or changed it), cut."""
    for sha in shas:
        text = git(repo, "show", f"{sha}:{path}")
        if text:
            return text[:MAX_TEST_SOURCE]
    return None


def remember_imports(case_id, repo, shas, tree, paths):
    tree_set = set(tree)
    for path in paths:
        if path in tree_set:
            text = test_source(repo, shas, path)
            if text is not None:
                imports.setdefault(case_id, {})[path] = text


def add_case(case, log, tree):
    missing = [f for f in case["fixed_files"] if f not in set(tree)]
    if missing or not case["fixed_files"]:
        return False
    case["split"] = "dev" if int(h("split:" + case["id"])[:8], 16) % 2 == 0 else "test"
    os.makedirs(os.path.join(OUT, "logs"), exist_ok=True)
    with open(os.path.join(OUT, "logs", case["id"] + ".log"), "w") as f:
        f.write(log)
    case["log"] = "logs/" + case["id"] + ".log"
    trees.setdefault(case["project"], {})[case["id"]] = tree
    cases.append(case)
    return True


def defects4j():
    d4j = mirror_dir("rjust/defects4j")
    for project, slug in D4J.items():
        repo = mirror_dir(slug)
        rows = git(d4j, "show", f"HEAD:framework/projects/{project}/active-bugs.csv").strip().split("\n")[1:]
        rows = sorted((r.split(",") for r in rows), key=lambda r: h(f"{project}-{r[0]}"))
        taken = 0
        for row in rows:
            if taken >= PER_PROJECT:
                break
            bug, buggy, fixed = row[0], row[1], row[2]
            log = git(d4j, "show", f"HEAD:framework/projects/{project}/trigger_tests/{bug}")
            patch = git(d4j, "show", f"HEAD:framework/projects/{project}/patches/{bug}.src.patch")
            tree = failing_tree(repo, buggy, fixed)
            if not log.strip() or not tree:
                continue
            case = {
                "id": f"d4j-{project}-{bug}", "project": f"d4j-{project}", "repo": slug, "language": "java",
                "failing_sha": buggy, "fixed_sha": fixed, "fixed_files": patch_files(patch), "log_kind": "test-output",
                "tree_note": "buggy commit plus the test files the fix commit added", "source": f"Defects4J (github.com/rjust/defects4j) framework/projects/{project}/trigger_tests/{bug} "
                          f"(failing test output, real) and patches/{bug}.src.patch (the fix); tree: github.com/{slug} at {buggy}",
            }
            if add_case(case, trim(log), tree):
                taken += 1
                classes = dict.fromkeys(re.findall(r"^--- ([\w.$]+)::", log, re.M))
                rels = [c.split("$")[0].replace(".", "/") + ".java" for c in classes]
                remember_imports(case["id"], repo, [fixed, buggy], tree, [p for p in tree if any(p.endswith("/" + r) for r in rels)])


def parse_info(text):
    return dict(re.findall(r'^(\w+)="([^"]*)"', text, re.M))


def unittest_summary(test_id):
    # tests.test_black.BlackTestCase.test_x -> "FAIL: test_x (tests.test_black.BlackTestCase)"
    parts = test_id.split(".")
    return f"FAIL: {parts[-1]} ({'.'.join(parts[:-1])})"


def bugsinpy():
    bip = mirror_dir("soarsmu/BugsInPy")
    for project in git(bip, "ls-tree", "--name-only", "HEAD:projects").split():
        if project in BUGSINPY_SKIP:
            continue
        info = parse_info(git(bip, "show", f"HEAD:projects/{project}/project.info"))
        slug = "/".join(info["github_url"].rstrip("/").split("/")[-2:])
        repo = mirror_dir(slug)
        bugs = sorted(git(bip, "ls-tree", "--name-only", f"HEAD:projects/{project}/bugs").split(), key=lambda b: h(f"{project}-{b}"))
        taken = 0
        for bug in bugs:
            if taken >= PER_PROJECT:
                break
            base = f"HEAD:projects/{project}/bugs/{bug}"
            binfo = parse_info(git(bip, "show", f"{base}/bug.info"))
            run = git(bip, "show", f"{base}/run_test.sh")
            patch = git(bip, "show", f"{base}/bug_patch.txt")
            buggy = binfo.get("buggy_commit_id")
            tree = failing_tree(repo, buggy, binfo.get("fixed_commit_id")) if buggy else []
            commands = [l.strip() for l in run.split("\n") if l.strip()]
            if not tree or not commands:
                continue
            summary = []
            for command in commands:
                node = re.search(r"(\S+\.py(?:::\S+)+)", command)
                unit = re.search(r"unittest -q (\S+)", command)
                if node:
                    summary.append(f"FAILED {node.group(1)}")
                elif unit:
                    summary.append(unittest_summary(unit.group(1)))
            if not summary:
                continue
            log = "\n".join([f"$ {commands[0]}", "=" * 30 + " short test summary info " + "=" * 30, *summary,
                             f"{len(summary)} failed", "##[error]Process completed with exit code 1.", ""])
            case = {
                "id": f"bip-{project}-{bug}", "project": f"bip-{project}", "repo": slug, "language": "python",
                "failing_sha": buggy, "fixed_sha": binfo.get("fixed_commit_id"), "fixed_files": patch_files(patch),
                "log_kind": "reconstructed-summary", "tree_note": "buggy commit plus the test files the fix commit added",
                "source": f"BugsInPy (github.com/soarsmu/BugsInPy) projects/{project}/bugs/{bug}: failing test ids from run_test.sh "
                          f"rendered as the runner's failure summary (the captured output is not published), fix from bug_patch.txt; "
                          f"tree: github.com/{slug} at {buggy}",
            }
            if add_case(case, log, tree):
                taken += 1
                paths = [l.split(" ")[1].split("::")[0] for l in summary if l.startswith("FAILED ")]
                paths += [l[l.index("(") + 1:-1].rsplit(".", 1)[0].replace(".", "/") + ".py" for l in summary if l.startswith("FAIL: ")]
                remember_imports(case["id"], repo, [binfo.get("fixed_commit_id"), buggy], tree, list(dict.fromkeys(paths)))


defects4j()
bugsinpy()

# Trees: per project, the first case's tree in full and the others as differences from it.
packed = {project: pack_trees(by_case) for project, by_case in trees.items()}
write_corpus(OUT, packed, imports, cases)
print(f"{len(cases)} cases, {len({c['project'] for c in cases})} projects, "
      f"dev {sum(c['split'] == 'dev' for c in cases)} / test {sum(c['split'] == 'test' for c in cases)}")
