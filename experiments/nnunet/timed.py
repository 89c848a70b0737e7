"""Run a command, then write its wall time, exit status and peak RSS to a JSON file (stdlib only).

  python3 experiments/nnunet/timed.py OUT.json [KEY=VALUE ...] -- COMMAND [ARG ...]
KEY=VALUE pairs are stored beside the timings (e.g. trainer=..., device=...). Peak RSS is getrusage's
RUSAGE_CHILDREN ru_maxrss: the largest resident set of any one waited-for descendant (the trainer's main process,
in practice), as /usr/bin/time %M reports it. Exits with the command's status.
"""
import json
import os
import resource
import subprocess
import sys
import time
from datetime import datetime, timezone

out, rest = sys.argv[1], sys.argv[2:]
split = rest.index("--")
extra = dict(kv.split("=", 1) for kv in rest[:split])
cmd = rest[split + 1:]
started = datetime.now(timezone.utc).isoformat(timespec="seconds")
load = os.getloadavg()
t0 = time.perf_counter()
rc = subprocess.call(cmd)
wall = time.perf_counter() - t0
record = {**extra, "cmd": cmd, "rc": rc, "wall_s": round(wall, 1), "started_utc": started,
          "loadavg_at_start": [round(x, 2) for x in load],
          "peak_rss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}
with open(out + ".tmp", "w") as f:
    json.dump(record, f, indent=1)
os.replace(out + ".tmp", out)
print(f"{os.path.basename(out)}: rc {rc}, wall {wall:.1f} s, peak RSS {record['peak_rss_kb']} KB", flush=True)
sys.exit(rc)
