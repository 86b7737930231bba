"""Soak the real server: wrk at 32 connections for 60 s with valid, invalid and urgent intakes.

    python3 dev.py soak            # about two minutes
    python3 dev.py soak --seconds 20

Then a second run kills one gunicorn worker halfway: only the requests in flight on that worker
may fail, and gunicorn starts a new one. Prints a table and writes benchmarks/results/soak.md.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.run import (  # noqa: E402
    INTAKES,
    RESULTS,
    ensure_wrk,
    production_server,
    wrk_json,
)

INVALID = [
    '{"difficulties": []}',
    '{"difficulties": ["sadness"], "preferences": {"format": "in_person"}}',
    '{"difficulties": ["ptsd"], "screening": {"phq9": [1, 1, 1]}}',
    '{"difficulties": ',
    "[1, 2, 3]",
]
URGENT = [
    json.dumps({"difficulties": ["depression"], "risk": {"self_harm_thoughts": True}}),
    json.dumps({"difficulties": ["grief"], "screening": {"phq9": [1, 1, 1, 1, 1, 1, 1, 1, 3]}}),
]

LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local bodies = {bodies}
local threads = {{}}
setup = function(thread) table.insert(threads, thread) end
init = function(args) n = 0; fivexx = 0; fourxx = 0; ok = 0 end
request = function()
  n = n + 1
  return wrk.format(nil, nil, nil, bodies[(n % #bodies) + 1])
end
response = function(status, headers, body)
  if status >= 500 then fivexx = fivexx + 1
  elseif status >= 400 then fourxx = fourxx + 1
  else ok = ok + 1 end
end
done = function(summary, latency, requests)
  local f, c, o = 0, 0, 0
  for _, t in ipairs(threads) do
    f = f + t:get("fivexx"); c = c + t:get("fourxx"); o = o + t:get("ok")
  end
  io.write(string.format("JSON {{\\"requests\\": %d, \\"ok\\": %d, \\"client_errors\\": %d, " ..
    "\\"server_errors\\": %d, \\"socket_errors\\": %d, \\"timeouts\\": %d, \\"p99_ms\\": %.2f}}\\n",
    summary.requests, o, c, f,
    summary.errors.connect + summary.errors.read + summary.errors.write,
    summary.errors.timeout, latency:percentile(99) / 1000))
end
"""


def workers(master: int) -> list[int]:
    """The pids of the master's worker processes."""
    children = Path(f"/proc/{master}/task/{master}/children")
    return [int(pid) for pid in children.read_text().split()] if children.exists() else []


def rss_mb(pid: int) -> float:
    """Resident memory of one process, in MiB."""
    pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def wrk_run(wrk: str, url: str, seconds: int, connections: int) -> dict[str, Any]:
    """One wrk run over the mixed bodies; counts of each kind of outcome."""
    bodies = [json.dumps(i) for i in INTAKES] * 3 + INVALID + URGENT
    script = LUA.format(bodies="{" + ", ".join(json.dumps(b) for b in bodies) + "}")
    return wrk_json(wrk, script, url, seconds, connections, "--timeout", "10s")


def main() -> None:
    """Run the soak and the worker-kill run, and write the report."""
    parser = argparse.ArgumentParser(description="matcher soak test")
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    wrk = ensure_wrk()
    if wrk is None:
        sys.exit("wrk is not installed and cannot be installed here (apt-get install wrk)")
    with production_server() as (base, server):
        url = f"{base}/api/v1/match"
        wrk_run(wrk, url, 3, args.connections)  # warm-up
        before = {pid: rss_mb(pid) for pid in workers(server.pid)}
        print(f"soak: {args.connections} connections for {args.seconds} s...", flush=True)
        soak = wrk_run(wrk, url, args.seconds, args.connections)
        after = {pid: rss_mb(pid) for pid in workers(server.pid)}
        print("worker kill: a worker gets SIGKILL halfway through...", flush=True)
        victim = workers(server.pid)[0]
        killer = threading.Timer(10, os.kill, (victim, signal.SIGKILL))
        killer.start()
        killed = wrk_run(wrk, url, 20, args.connections)
        killer.join()
        replaced = victim not in workers(server.pid) and len(workers(server.pid)) == 2
    lines = [
        f"Soak measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} with "
        f"`python3 dev.py soak` ({args.connections} connections, {args.seconds} s, mixed "
        "valid, invalid and urgent intakes):",
        "",
        "| run | requests | 2xx | 4xx (invalid input) | 5xx | socket errors | timeouts | p99 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, row in (("soak", soak), ("worker killed at 10 s of 20", killed)):
        lines.append(
            f"| {name} | {row['requests']:,} | {row['ok']:,} | {row['client_errors']:,} | "
            f"{row['server_errors']} | {row['socket_errors']} | {row['timeouts']} | "
            f"{row['p99_ms']:.1f} ms |"
        )
    memory = ", ".join(f"{before[p]:.0f} -> {after.get(p, 0):.0f} MB" for p in before)
    lines += [
        "",
        f"Worker memory before and after the soak: {memory}.",
        f"Killed worker replaced by gunicorn: {'yes' if replaced else 'NO'}; requests lost "
        f"with it: {killed['socket_errors']} (at most the {args.connections} in flight).",
    ]
    text = "\n".join(lines) + "\n"
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "soak.md").write_text(text, encoding="utf-8")
    print()
    print(text)
    failed = (
        soak["server_errors"] or soak["socket_errors"] or killed["server_errors"] or not replaced
    )
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
