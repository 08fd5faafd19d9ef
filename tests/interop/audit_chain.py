#!/usr/bin/env python3
"""An independent check of an exported audit log (docs/audit.md).

  audit_chain.py FILE.jsonl

Recomputes every record's hash from its fields with Python's own json and
hashlib (keys sorted, no whitespace, UTF-8 unescaped) and checks the links.
Prints the number of records and the head, or the first bad seq; exit 1
when the chain is broken.
"""
import hashlib
import json
import sys

GENESIS = "0" * 64


def main():
    prev, seq = GENESIS, 0
    with open(sys.argv[1], encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            body = {k: r[k] for k in ("seq", "time", "actor", "action",
                                      "subject", "decision", "reason", "txn",
                                      "details", "prev")}
            text = json.dumps(body, sort_keys=True, separators=(",", ":"),
                              ensure_ascii=False)
            digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
            if r["seq"] != seq + 1 or r["prev"] != prev or r["hash"] != digest:
                print("broken at seq %d" % (seq + 1))
                return 1
            prev, seq = r["hash"], r["seq"]
    print("%d records, head %d:%s" % (seq, seq, prev))
    return 0


if __name__ == "__main__":
    sys.exit(main())
