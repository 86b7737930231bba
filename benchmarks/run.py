"""Benchmark matcher: in-process latency per roster size, start-up, memory, the rules step, HTTP.

    python3 dev.py bench            # everything (about five minutes on 2 cores)
    python3 dev.py bench --quick    # smaller counts, no 100k roster, for a smoke run

Prints a table and writes it to benchmarks/results/latest.md (and latest.json). Absolute
numbers move with the machine: the HTTP figure to track is the ratio of the match endpoint's
throughput to a trivial endpoint's, measured in the same run.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
sys.path.insert(0, str(ROOT))

# A fixed, varied set of intakes: constraints of every kind, screening, an urgent one, a no-match.
INTAKES: list[dict[str, Any]] = [
    {
        "difficulties": ["ptsd", "depression"],
        "preferences": {"languages": ["es"], "format": "in_person", "city": "Madrid"},
    },
    {
        "difficulties": ["anxiety"],
        "preferences": {"format": "online", "max_fee": 90},
        "screening": {"gad7": [2, 2, 2, 1, 1, 1, 2]},
    },
    {"difficulties": ["ocd"], "preferences": {"languages": ["nl"], "times": ["weekday_evening"]}},
    {"difficulties": ["grief", "depression"], "preferences": {"setting": "group"}},
    {"difficulties": ["relationship"], "preferences": {"setting": "couple", "languages": ["de"]}},
    {"difficulties": ["anxiety", "depression", "stress"]},
    {"difficulties": ["family_conflict"], "preferences": {"setting": "family", "age": 14}},
    {"difficulties": ["social_anxiety"], "preferences": {"setting": "group", "format": "online"}},
    {
        "difficulties": ["complex_trauma", "emotion_regulation"],
        "preferences": {"therapist_gender": "woman", "languages": ["en", "fr"]},
    },
    {
        "difficulties": ["depression"],
        "screening": {"phq9": [2, 2, 2, 2, 2, 2, 2, 1, 1]},
        "risk": {"self_harm_thoughts": True},
    },
    {"difficulties": ["panic"], "preferences": {"languages": ["sw"]}},  # nobody: relaxations
    {
        "difficulties": ["self_esteem", "life_transition"],
        "preferences": {"format": "any", "city": "London", "max_fee": 70},
    },
    {  # licensure by state and compact, access and affirming care
        "difficulties": ["stress"],
        "location": {"country": "US", "region": "US-NJ"},
        "preferences": {"format": "online", "affirming": ["lgbtq"]},
    },
    {
        "difficulties": ["anxiety"],
        "location": {"country": "GB", "region": "GB-SCT"},
        "preferences": {"format": "any", "access": ["handiaccess"], "interpreter": "bfi"},
    },
    {  # a payer, a distance from a postcode, in person
        "difficulties": ["depression"],
        "location": {"country": "NL", "postcode": "3011 AB"},
        "preferences": {
            "format": "in_person",
            "city": "Rotterdam",
            "max_distance_km": 15,
            "payment": {"method": "insurance", "scheme": "nl_basic", "payer": "vgz"},
        },
    },
    {  # Medicaid in New York, either format, a shown identity as a soft preference
        "difficulties": ["ptsd"],
        "location": {"country": "US", "region": "US-NY", "city": "Brooklyn"},
        "preferences": {
            "format": "any",
            "identity": ["ethnicity:black"],
            "payment": {"method": "insurance", "scheme": "us_medicaid"},
        },
    },
    {  # self-pay in pounds, in person in London
        "difficulties": ["social_anxiety"],
        "location": {"country": "GB"},
        "preferences": {
            "format": "in_person",
            "city": "London",
            "payment": {"method": "self_pay", "max_fee": 90, "currency": "GBP"},
        },
    },
]


def percentile(values: list[float], share: float) -> float:
    """The value below which `share` of the sorted values fall."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def rss_mb() -> float:
    """This process's resident memory now, in MiB."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


# --- one roster, in a fresh process -----------------------------------------------------------


def measure_roster(roster: str, rounds: int, as_of: str = "") -> dict[str, Any]:
    """Start-up, memory and full-match latency for one roster (run in a child process).

    `as_of`: the day to match on (a synthetic roster's dates are relative to it), else today.
    """
    from matcher.matching import Matcher, utc_today

    day = date.fromisoformat(as_of) if as_of else None
    load = os.getloadavg()[0]
    started, cpu = time.perf_counter(), time.process_time()
    matcher = Matcher.from_files(
        ROOT / "rules", Path(roster), today=(lambda: day) if day else utc_today
    )
    startup, startup_cpu = time.perf_counter() - started, time.process_time() - cpu
    after_load = rss_mb()
    for intake in INTAKES:  # warm-up: caches, first-call costs
        matcher.match(intake)
    times = []
    for _ in range(rounds):
        for intake in INTAKES:
            began = time.perf_counter()
            matcher.match(intake)
            times.append(time.perf_counter() - began)
    return {
        "therapists": matcher.roster.size,
        "startup_s": startup,
        # On a shared machine the process waits for a core: its own CPU time is the steadier.
        "startup_cpu_s": startup_cpu,
        "load_1min": load,
        "rss_after_load_mb": after_load,
        "rss_after_matches_mb": rss_mb(),
        "p50_ms": percentile(times, 0.50) * 1e3,
        "p99_ms": percentile(times, 0.99) * 1e3,
        "matches": len(times),
    }


def measure_memory_over_time(count: int) -> dict[str, Any]:
    """Resident memory after warm-up and after `count` matches on the bundled roster."""
    from matcher.matching import Matcher

    matcher = Matcher.from_files(ROOT / "rules", ROOT / "therapists.yaml")
    rng = random.Random(3)
    stream = [random_intake(rng) for _ in range(2000)]
    for intake in stream:
        matcher.match(intake)
    warm = rss_mb()
    for number in range(count):
        matcher.match(stream[number % len(stream)])
    return {"matches": count, "rss_warm_mb": warm, "rss_after_mb": rss_mb()}


def random_intake(rng: random.Random) -> dict[str, Any]:
    """A plausible intake; clinical profiles repeat the way real traffic does."""
    common = [
        "anxiety",
        "depression",
        "stress",
        "relationship",
        "ptsd",
        "grief",
        "panic",
        "self_esteem",
        "social_anxiety",
        "ocd",
        "life_transition",
        "emotion_regulation",
        "complex_trauma",
        "family_conflict",
        "phobia",
    ]
    weights = [1 / (rank + 1) for rank in range(len(common))]  # a few difficulties dominate
    difficulties = list(dict.fromkeys(rng.choices(common, weights, k=rng.choice([1, 1, 2, 2, 3]))))
    intake: dict[str, Any] = {"difficulties": difficulties, "preferences": {}}
    prefs = intake["preferences"]
    if rng.random() < 0.5:
        prefs["languages"] = [rng.choice(["en", "es", "nl", "de", "fr", "ar"])]
    prefs["format"] = rng.choice(["any", "online", "online", "in_person"])
    if prefs["format"] == "in_person":
        prefs["city"] = rng.choice(["Madrid", "London", "Amsterdam", "Berlin", "Paris"])
    if rng.random() < 0.3:
        prefs["setting"] = rng.choice(["individual", "group", "couple"])
    if rng.random() < 0.3:
        intake["screening"] = {"phq9": [rng.choice([0, 1, 1, 2]) for _ in range(8)] + [0]}
    return intake


def measure_rules_step(count: int) -> dict[str, Any]:
    """Mean cost of the rules step (facts in; modalities, advice, alerts, explanation out)."""
    from matcher.matching import Matcher
    from matcher.roster import load_roster
    from matcher.rules import load_knowledge

    knowledge = load_knowledge(ROOT / "rules")
    roster = load_roster(ROOT / "therapists.yaml", knowledge.vocabulary, places=knowledge.places)
    rng = random.Random(5)
    stream = [random_intake(rng) for _ in range(count)]
    result: dict[str, Any] = {"intakes": count}
    for label, cache_size in (("cached", 4096), ("uncached", 0)):
        matcher = Matcher(knowledge, roster, cache_size=cache_size)
        intakes = [matcher.parse_intake(intake) for intake in stream]
        began = time.perf_counter()
        for intake in intakes:
            matcher.clinical(intake)
        result[f"{label}_us"] = (time.perf_counter() - began) / count * 1e6
        if cache_size:
            info = matcher.clinical_rules.cache_info()
            result["distinct_profiles"] = info.currsize
            result["hit_rate"] = info.hits / (info.hits + info.misses)
    return result


def child(task: str, *args: str) -> dict[str, Any]:
    """Run one measurement in a fresh interpreter, so start-up and memory are its own."""
    out = subprocess.run(
        [sys.executable, __file__, "--child", task, *args],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


# --- HTTP ---------------------------------------------------------------------------------


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ensure_wrk() -> str | None:
    """Path of wrk, installing Debian's package if we may; None if it cannot be had."""
    found = shutil.which("wrk")
    if found or os.geteuid() != 0:
        return found
    print("installing wrk (apt-get install wrk)...", flush=True)
    subprocess.run(["apt-get", "update", "-qq"], check=False, capture_output=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False, capture_output=True)
    return shutil.which("wrk")


WRK_SCRIPT = """
wrk.method = "{method}"
wrk.headers["Content-Type"] = "application/json"
local bodies = {bodies}
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, nil, nil, bodies[(n % #bodies) + 1])
end
done = function(summary, latency, requests)
  io.write(string.format("JSON {{\\"requests\\": %d, \\"errors\\": %d, \\"non2xx\\": %d, " ..
    "\\"p99_ms\\": %.3f, \\"p50_ms\\": %.3f}}\\n",
    summary.requests, summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.timeout, summary.errors.status, latency:percentile(99) / 1000,
    latency:percentile(50) / 1000))
end
"""


def lua_strings(values: list[str]) -> str:
    return "{" + ", ".join(json.dumps(v) for v in values) + "}"


def wrk_json(
    wrk: str, script: str, url: str, seconds: int, connections: int, *extra: str
) -> dict[str, Any]:
    """Run wrk with a Lua `script` whose done() prints a line `JSON {...}`; return that object."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as file:
        file.write(script)
    try:
        out = subprocess.run(
            [wrk, "-t2", f"-c{connections}", f"-d{seconds}s", *extra, "-s", file.name, url],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(file.name)
    result: dict[str, Any] = json.loads(
        next(x for x in out.splitlines() if x.startswith("JSON "))[5:]
    )
    return result


def run_wrk(
    wrk: str, url: str, method: str, bodies: list[str], seconds: int, connections: int
) -> dict[str, Any]:
    """Load `url` with wrk from a second process; requests/s, p50, p99 and errors."""
    script = WRK_SCRIPT.format(method=method, bodies=lua_strings(bodies or [""]))
    result = wrk_json(wrk, script, url, seconds, connections)
    result["rps"] = result["requests"] / seconds
    return result


@contextlib.contextmanager
def production_server(
    extra_env: dict[str, str] | None = None,
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """The app under gunicorn with its production settings (gunicorn.conf.py), on a free port.

    Rate limiting is off: one client address sends thousands of requests a second here.
    """
    port = free_port()
    env = {
        **os.environ,
        "MATCHER_BIND": f"127.0.0.1:{port}",
        "MATCHER_RATE_LIMIT": "",
        **(extra_env or {}),
    }
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=log,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    urllib.request.urlopen(f"{base}/healthz", timeout=1)
                    break
                except OSError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise RuntimeError("gunicorn did not start") from None
                    time.sleep(0.2)
            yield base, server
        finally:
            server.terminate()
            server.wait(timeout=30)


def measure_http(seconds: int, connections: int) -> dict[str, Any]:
    """Match endpoint against a trivial endpoint of the same app, under gunicorn, same run."""
    wrk = ensure_wrk()
    if wrk is None:
        return {"skipped": "wrk is not installed and cannot be installed here"}
    load = os.getloadavg()[0]
    with production_server() as (base, _):
        fixed = [json.dumps(intake) for intake in INTAKES]
        rng = random.Random(11)
        varied = list(dict.fromkeys(json.dumps(random_intake(rng)) for _ in range(4000)))
        run_wrk(wrk, f"{base}/api/v1/match", "POST", fixed, 2, connections)  # warm-up
        trivial = run_wrk(wrk, f"{base}/healthz", "GET", [], seconds, connections)
        match = run_wrk(wrk, f"{base}/api/v1/match", "POST", fixed, seconds, connections)
        distinct = run_wrk(wrk, f"{base}/api/v1/match", "POST", varied, seconds, connections)
    return {
        "connections": connections,
        "seconds": seconds,
        "load_1min": load,
        "trivial": trivial,
        "match": match,
        "distinct": distinct,
        "distinct_bodies": len(varied),
        "ratio": match["rps"] / trivial["rps"],
        "distinct_ratio": distinct["rps"] / trivial["rps"],
    }


@contextlib.contextmanager
def benchmark_databases() -> Iterator[list[tuple[str, str | None, str]]]:
    """(name, URL or None, why skipped) for an SQLite file and a throwaway PostgreSQL cluster.

    The cluster keeps fsync on, so both databases pay for durable commits.
    """
    with tempfile.TemporaryDirectory(prefix="matcher-bench-") as folder:
        sqlite = f"sqlite:///{Path(folder) / 'referrals.db'}"
        try:
            from tests.databases import PostgresUnavailable, postgres_for_tests
        except ImportError as exc:  # the postgresql or test extra is not installed
            yield [("SQLite", sqlite, ""), ("PostgreSQL", None, str(exc))]
            return
        try:
            with postgres_for_tests(durable=True) as server, server.database() as url:
                yield [("SQLite", sqlite, ""), ("PostgreSQL", url, "")]
        except PostgresUnavailable as exc:
            yield [("SQLite", sqlite, ""), ("PostgreSQL", None, str(exc))]


def stored_referrals(url: str) -> int:
    """How many referrals the database holds."""
    from matcher.storage.database import make_engine
    from matcher.storage.referrals import Referrals

    referrals = Referrals(make_engine(url))
    try:
        return referrals.count()
    finally:
        referrals.engine.dispose()


def measure_referrals(seconds: int, connections: int) -> dict[str, Any]:
    """Referral submissions (each one committed) against matches, per database, same server."""
    wrk = ensure_wrk()
    if wrk is None:
        return {"skipped": "wrk is not installed and cannot be installed here"}
    fixed = [json.dumps(intake) for intake in INTAKES]
    contact = {"name": "Bench Example", "email": "bench@example.org"}
    bodies = [json.dumps({"intake": i, "contact": contact, "consent": True}) for i in INTAKES]
    rows: dict[str, Any] = {}
    with benchmark_databases() as databases:
        for name, url, skipped in databases:
            if url is None:
                rows[name] = {"skipped": skipped.splitlines()[0]}
                continue
            with tempfile.TemporaryDirectory(prefix="matcher-bench-state-") as state:
                env = {"MATCHER_STATE_DIR": state, "MATCHER_DATABASE_URL": url}
                with production_server(env) as (base, _):
                    run_wrk(wrk, f"{base}/api/v1/match", "POST", fixed, 2, connections)
                    match = run_wrk(
                        wrk, f"{base}/api/v1/match", "POST", fixed, seconds, connections
                    )
                    before = stored_referrals(url)
                    referrals = run_wrk(
                        wrk, f"{base}/api/v1/referrals", "POST", bodies, seconds, connections
                    )
                    stored = stored_referrals(url) - before
            rows[name] = {
                "match": match,
                "referrals": referrals,
                "ratio": referrals["rps"] / match["rps"],
                # Every 201 must be a row, and no row without a 201 answer that wrk counted.
                "answered_201": referrals["requests"] - referrals["non2xx"] - referrals["errors"],
                "stored": stored,
            }
    return {"connections": connections, "seconds": seconds, "databases": rows}


# --- report ---------------------------------------------------------------------------------


def report(results: dict[str, Any], command: str) -> str:
    """The results as a Markdown table, with the targets beside them."""
    load = ", ".join(
        f"{label} {' / '.join(f'{x:.2f}' for x in results[key])}"
        for label, key in (("before", "load_before"), ("after", "load_after"))
        if key in results
    )
    lines = [
        f"Measured {results['when']} on {results['machine']} with `{command}`"
        + (f" (load average 1 / 5 / 15 min: {load})." if load else "."),
        "",
        "| roster | therapists | start-up | start-up / bundled | start-up CPU | RSS after load | "
        "RSS after matches | p50 | p99 | load (1 min) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    bundled = results["rosters"]["bundled"]["startup_s"]
    for name, row in results["rosters"].items():
        lines.append(
            f"| {name} | {row['therapists']:,} | {row['startup_s']:.2f} s | "
            f"{row['startup_s'] / bundled:.1f}× | {row.get('startup_cpu_s', 0):.2f} s | "
            f"{row['rss_after_load_mb']:.0f} MB | {row['rss_after_matches_mb']:.0f} MB | "
            f"{row['p50_ms']:.3f} ms | {row['p99_ms']:.3f} ms | {row.get('load_1min', 0):.2f} |"
        )
    rules = results["rules_step"]
    memory = results["memory"]
    lines += [
        "",
        f"Rules step over a stream of {rules['intakes']:,} intakes whose clinical profiles repeat "
        f"({rules['distinct_profiles']} distinct, cache hit rate {rules['hit_rate']:.1%}): "
        f"**{rules['cached_us']:.1f} µs** per evaluation with the cache, "
        f"{rules['uncached_us']:.1f} µs with durable_rules every time "
        "(peer reference: GoRules ZEN about 44 µs).",
        "",
        f"Memory over time (bundled roster): {memory['rss_warm_mb']:.1f} MB after warm-up, "
        f"{memory['rss_after_mb']:.1f} MB after {memory['matches']:,} more matches.",
    ]
    http = results.get("http", {})
    if "ratio" in http:
        lines += [
            "",
            f"HTTP under gunicorn (gunicorn.conf.py), wrk, {http['connections']} connections, "
            f"{http['seconds']} s each (load average {http.get('load_1min', 0):.2f} at the start):",
            "",
            "| endpoint | requests/s | p50 | p99 | errors | non-2xx |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        labels = {
            "trivial": "GET /healthz (trivial)",
            "match": f"POST /api/v1/match, the fixed {len(INTAKES)} intakes",
            "distinct": f"POST /api/v1/match, {http['distinct_bodies']:,} distinct intakes",
        }
        for name, label in labels.items():
            row = http[name]
            lines.append(
                f"| {label} | {row['rps']:,.0f} | {row['p50_ms']:.2f} ms | "
                f"{row['p99_ms']:.2f} ms | {row['errors']} | {row['non2xx']} |"
            )
        lines += [
            "",
            f"**Match / trivial throughput: {http['ratio']:.0%}** with the fixed intakes "
            f"(repeats are answered from the response cache); {http['distinct_ratio']:.0%} when "
            "nearly every intake is new.",
        ]
    elif http:
        lines += ["", f"HTTP: skipped ({http['skipped']})."]
    lines += referral_report(results.get("referrals", {}))
    return "\n".join(lines) + "\n"


def referral_report(referrals: dict[str, Any]) -> list[str]:
    """The referral rows: submissions against matches on the same server, per database."""
    if not referrals:
        return []
    if "skipped" in referrals:
        return ["", f"Referrals: skipped ({referrals['skipped']})."]
    lines = [
        "",
        f"Referral submissions (`POST /api/v1/referrals`, each committed before its 201) against "
        f"matches on the same server, wrk, {referrals['connections']} connections, "
        f"{referrals['seconds']} s each:",
        "",
        "| database | match requests/s | referrals/s | referrals / match | referral p50 | "
        "referral p99 | errors | 201 answers | rows stored |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, row in referrals["databases"].items():
        if "skipped" in row:
            lines.append(f"| {name} | skipped: {row['skipped']} | | | | | | | |")
            continue
        sent = row["referrals"]
        lines.append(
            f"| {name} | {row['match']['rps']:,.0f} | {sent['rps']:,.0f} | {row['ratio']:.0%} | "
            f"{sent['p50_ms']:.2f} ms | {sent['p99_ms']:.2f} ms | "
            f"{sent['errors'] + sent['non2xx']} | {row['answered_201']:,} | {row['stored']:,} |"
        )
    return lines


def main() -> None:
    """Run every measurement and write the report."""
    parser = argparse.ArgumentParser(description="matcher benchmarks")
    parser.add_argument("--quick", action="store_true", help="small counts, no 100k roster")
    parser.add_argument("--no-http", action="store_true", help="skip the gunicorn + wrk part")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        task, *rest = args.child
        tasks = {
            "roster": lambda: measure_roster(rest[0], int(rest[1]), *rest[2:]),
            "memory": lambda: measure_memory_over_time(int(rest[0])),
            "rules": lambda: measure_rules_step(int(rest[0])),
        }
        print(json.dumps(tasks[task]()))
        return

    from benchmarks.generate_roster import AS_OF
    from benchmarks.generate_roster import roster as synthetic

    sizes = [1_000, 10_000] if args.quick else [1_000, 10_000, 100_000]
    rosters = {"bundled": ROOT / "therapists.yaml"}
    RESULTS.mkdir(parents=True, exist_ok=True)
    # A roster generated by an older generator is never measured by mistake: the file is named
    # by the generator's own source.
    generator = hashlib.sha256((ROOT / "benchmarks" / "generate_roster.py").read_bytes())
    for size in sizes:
        path = RESULTS / f"roster-{size}-{generator.hexdigest()[:12]}.json"
        if not path.exists():
            print(f"generating a {size:,}-therapist roster...", flush=True)
            path.write_text(json.dumps(synthetic(size), ensure_ascii=False), encoding="utf-8")
        rosters[f"synthetic {size // 1000}k"] = path
    rounds = 20 if args.quick else 100
    results: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{os.cpu_count()} cores, Python {sys.version.split()[0]}",
        # Others share the machine: the load average says how much of it the run had.
        "load_before": os.getloadavg(),
        "rosters": {},
    }
    for name, path in rosters.items():
        print(f"in-process: {name}...", flush=True)
        results["rosters"][name] = child(
            "roster",
            str(path),
            str(rounds if name == "bundled" else max(5, rounds // 5)),
            "" if name == "bundled" else AS_OF.isoformat(),
        )
    print("rules step...", flush=True)
    results["rules_step"] = child("rules", str(5_000 if args.quick else 20_000))
    print("memory over time...", flush=True)
    results["memory"] = child("memory", str(10_000 if args.quick else 100_000))
    if not args.no_http:
        print("HTTP (gunicorn + wrk)...", flush=True)
        results["http"] = measure_http(5 if args.quick else 15, 16)
        print("referrals (gunicorn + wrk, SQLite and PostgreSQL)...", flush=True)
        results["referrals"] = measure_referrals(5 if args.quick else 15, 16)
    results["load_after"] = os.getloadavg()
    command = "python3 dev.py bench" + (" --quick" if args.quick else "")
    text = report(results, command)
    (RESULTS / "latest.md").write_text(text, encoding="utf-8")
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    print()
    print(text)
    print(f"written to {RESULTS / 'latest.md'}")


if __name__ == "__main__":
    main()
