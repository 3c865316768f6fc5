"""``mautic-sim``: run the simulator until interrupted."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time

from mautic_sim import Simulator
from mautic_sim.server import WRITE_RATIO, parse_fault_spec, stderr_log
from mautic_sim.tls import TLSUnavailable
from mautic_sim.versions import DEFAULT_VERSION, VERSIONS


def _onoff(value: str) -> bool:
    v = value.lower()
    if v in ("on", "true", "1", "yes"):
        return True
    if v in ("off", "false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected on|off, got {value!r}")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mautic-sim", description="A Mautic API simulator on loopback (5.1.0; --mautic-version for later ones).")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 picks any free port")
    p.add_argument("--db", default=None, help="SQLite file (default: a temporary one)")
    p.add_argument("--contacts", type=int, default=100, help="seed size")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--username", default="admin")
    p.add_argument("--password", default="mautic")
    p.add_argument("--client-id", default="sim-client")
    p.add_argument("--client-secret", default="sim-secret")
    p.add_argument("--latency-ms", type=int, default=0, help="time each request spends in a worker before it is handled")
    p.add_argument("--latency-per-inflight-ms", type=float, default=0.0,
                   help="latency that rises with load: each other request in a worker at arrival adds this much")
    p.add_argument("--rate-per-second", type=int, default=0,
                   help="API calls answered per wall-clock second; beyond, 429 with Retry-After (0 = off)")
    p.add_argument("--rate-retry-after", type=int, default=1,
                   help="the Retry-After seconds of a 429 of --rate-per-second")
    p.add_argument("--workers", type=int, default=0,
                   help="requests handled at once, as PHP-FPM's workers; more wait for a free one (0 = no limit)")
    p.add_argument("--row-ms", type=float, default=0.0,
                   help="server time per contact or company in an answer (reads); writes cost --write-ratio times "
                        "as much per item (0 = off)")
    p.add_argument("--write-ratio", type=float, default=WRITE_RATIO,
                   help=f"cost of a written item against a read one (default {WRITE_RATIO}: real 5.1.0, batch/edit "
                        "of 200 unchanged contacts ~2.3 s, reading them by id ~0.6 s)")
    p.add_argument("--processes", type=int, default=1,
                   help="worker processes running the app in parallel, as PHP-FPM's (1 = in the server's process)")
    p.add_argument("--faults", default=None, help='e.g. "429:0.1,502:0.05,reset:0.02,timeout:0.01,malformed:0.01"')
    p.add_argument("--fault-seed", type=int, default=0)
    p.add_argument("--timeout-fault-s", type=float, default=30.0, help="how long a 'timeout' fault stalls")
    p.add_argument("--token-lifetime", type=int, default=3600, help="OAuth2 access token lifetime in seconds")
    p.add_argument("--basic-auth", type=_onoff, default=True, metavar="on|off")
    p.add_argument("--api", type=_onoff, default=True, metavar="on|off")
    p.add_argument("--mautic-version", default=DEFAULT_VERSION, choices=sorted(VERSIONS),
                   help="behave as this Mautic version (5.1 is recorded; the others follow mautic-versions.md)")
    p.add_argument("--rate-limit", type=int, default=0,
                   help="Mautic's api_rate_limiter_limit (calls per hour, 0 = off; 7.x has no limiter)")
    p.add_argument("--tls", action="store_true",
                   help="serve HTTPS with a self-signed certificate made at start (needs the openssl CLI); "
                        "its path is printed as MAUTIC_SIM_CA")
    p.add_argument("--oauth1a", type=_onoff, default=False, metavar="on|off",
                   help="OAuth 1.0a as Mautic < 4 had it (off: 5.1 has none)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        parse_fault_spec(args.faults)
    except ValueError as e:
        print(f"mautic-sim: {e}", file=sys.stderr)
        return 2
    if args.contacts < 0:
        print("mautic-sim: --contacts must be >= 0", file=sys.stderr)
        return 2
    if args.workers < 0:
        print("mautic-sim: --workers must be >= 0 (0 = no limit)", file=sys.stderr)
        return 2
    if args.row_ms < 0 or args.write_ratio <= 0:
        print("mautic-sim: --row-ms must be >= 0 and --write-ratio > 0", file=sys.stderr)
        return 2
    if args.latency_per_inflight_ms < 0 or args.rate_per_second < 0 or args.rate_retry_after < 0:
        print("mautic-sim: --latency-per-inflight-ms, --rate-per-second and --rate-retry-after must be >= 0",
              file=sys.stderr)
        return 2
    if args.processes < 1:
        print("mautic-sim: --processes must be >= 1", file=sys.stderr)
        return 2
    sim = Simulator(contacts=args.contacts, seed=args.seed, username=args.username, password=args.password,
                    client_id=args.client_id, client_secret=args.client_secret, latency_ms=args.latency_ms,
                    faults=args.faults, basic_auth=args.basic_auth, api=args.api, oauth1a=args.oauth1a,
                    token_lifetime=args.token_lifetime,
                    db_path=args.db, host=args.host, port=args.port, timeout_fault_s=args.timeout_fault_s,
                    fault_seed=args.fault_seed, log=stderr_log, mautic_version=args.mautic_version,
                    rate_limit=args.rate_limit, tls=args.tls, workers=args.workers,
                    processes=args.processes, row_ms=args.row_ms, write_ratio=args.write_ratio,
                    latency_per_inflight_ms=args.latency_per_inflight_ms, rate_per_second=args.rate_per_second,
                    rate_retry_after=args.rate_retry_after)
    try:
        sim.start()
    except TLSUnavailable as e:
        print(f"mautic-sim: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"mautic-sim: cannot listen on {args.host}:{args.port}: {e}", file=sys.stderr)
        return 2
    if sim.cert_file:
        print(f"MAUTIC_SIM_CA={sim.cert_file}", flush=True)
    print(f"MAUTIC_SIM_URL={sim.url}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.is_set():
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        seen = sim.concurrency()
        sim.stop()
        # the last line on stderr: what the server saw, for benchmarks that run it as a process
        print(f"mautic-sim: served {seen['served']} requests, at most {seen['max_in_flight']} at once, at most "
              f"{seen['max_queued']} waiting (workers {seen['workers'] or 'unlimited'}), {seen['over_budget']} over the "
              f"per-second budget", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
