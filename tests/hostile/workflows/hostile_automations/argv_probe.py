"""Prints its arguments as received, as JSON outputs: a shell would have split or run them."""

from __future__ import annotations

import json
import sys

if __name__ == "__main__":
    json.dump({"argv": sys.argv[1:]}, sys.stdout)
