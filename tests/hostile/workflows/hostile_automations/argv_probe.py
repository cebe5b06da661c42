"""Prints its arguments as received (after the `--` that ends options), as JSON outputs: a
shell would have split or run them."""

from __future__ import annotations

import json
import sys

if __name__ == "__main__":
    given = sys.argv[1:]
    json.dump({"argv": given[1:] if given[:1] == ["--"] else given}, sys.stdout)
