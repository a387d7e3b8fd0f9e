"""The AWS emulator the tests start: moto, extended where it lacks what AWS documents.

Run as `python launch.py -H 127.0.0.1 -p PORT` (moto_server's own arguments). Each module in
`extensions/` patches one service of moto before the server starts; docs/moto-facts.md lists
what each adds and the AWS documentation it follows.

SCALING_MOTO_STEPS (default 2) is how many describe calls an object spends in a transitional
status (`modifying`, `deleting`) before it settles, so that waiters meet the statuses AWS
passes through without tests waiting minutes. SCALING_MOTO_CONTROL names a JSON file through
which a test injects faults and opens maintenance windows (extensions/__init__.py).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import extensions.cloudfront  # noqa: E402,F401  (patches moto on import)
import extensions.cloudwatch  # noqa: E402,F401
import extensions.eks  # noqa: E402,F401
import extensions.elasticache  # noqa: E402,F401
import extensions.rds  # noqa: E402,F401
from moto.server import main  # noqa: E402

if __name__ == "__main__":
    main()
