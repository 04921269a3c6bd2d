"""What the localisation corpus scripts (build.py, mine_*.py) write, written one way."""
import gzip, json, os


def pack_trees(by_case):
    """One project's trees: the first case's tree in full, the others as differences from it."""
    ids = sorted(by_case)
    base = by_case[ids[0]]
    base_set = set(base)
    cases = {}
    for cid in ids:
        s = set(by_case[cid])
        cases[cid] = {"add": sorted(s - base_set), "remove": sorted(base_set - s)}
    return {"base": base, "cases": cases}


def write_corpus(out, packed, tests, cases):
    """trees.json.gz, tests.json.gz and cases.json (sorted by id) into `out`."""
    cases.sort(key=lambda c: c["id"])
    with gzip.open(os.path.join(out, "trees.json.gz"), "wt") as f:
        json.dump(packed, f, separators=(",", ":"))
    with gzip.open(os.path.join(out, "tests.json.gz"), "wt") as f:
        json.dump(tests, f, separators=(",", ":"))
    with open(os.path.join(out, "cases.json"), "w") as f:
        json.dump(cases, f, indent=1)
