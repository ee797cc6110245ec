#!/usr/bin/env python3
"""Fails when a public symbol of the documentation archive has no summary.

Reads the documentation-coverage.json that `docc convert
--experimental-documentation-coverage --coverage-summary-level detailed` writes and
lists every symbol without an abstract, except what the compiler synthesizes
(Equatable's !=, Hashable's members, RawRepresentable's init, Error's
localizedDescription) and the collection groups of protocol implementations.
"""
import json
import sys

SYNTHESIZED = {"!=(_:_:)", "hashValue", "hash(into:)", "init(rawValue:)", "localizedDescription"}

def main(path):
    with open(path) as f:
        entries = json.load(f)
    missing = sorted(
        e["referencePath"].split("/documentation/")[-1]
        for e in entries
        if e["kind"].get("isSymbol") and not e.get("hasAbstract") and e["title"] not in SYNTHESIZED
    )
    for name in missing:
        print(f"undocumented: {name}")
    symbols = sum(1 for e in entries if e["kind"].get("isSymbol"))
    print(f"{symbols - len(missing)} of {symbols} public symbols documented")
    return 1 if missing else 0

if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
