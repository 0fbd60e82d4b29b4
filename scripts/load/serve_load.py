#!/usr/bin/env python3
"""Load test of `sdgen serve`: M clients send N txt2img requests in all.

Either against a running server (--url) or one it starts itself over the tiny
random-weight fixture model (--sdgen, port 0, --queue-limit). Each client
thread sends one request at a time until N have been sent or --duration is
up, recording each answer's latency and status (a 503 is the queue saying
"full": the client waits --backoff seconds and goes on). At the end it prints
a Markdown table: the machine, requests sent, 200s, 503s, other errors, lost
requests (sent, never answered), throughput, latency percentiles, and, for a
server it started, its peak RSS and its exit status on SIGTERM.

Exit status 1 when a request was lost, got a 5xx other than 503, or a
self-started server did not exit 0 on SIGTERM. Standard library only.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "Tests" / "Fixtures" / "pipeline"


@dataclass
class Outcome:
    status: int | None  # None: no HTTP answer at all (lost)
    seconds: float
    images: int
    error: str = ""


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores"


def start_server(sdgen: Path, queue_limit: int) -> tuple[subprocess.Popen, str, Path]:
    folder = Path(tempfile.mkdtemp(prefix="sdgen-load-"))
    (folder / "weights").mkdir()
    (folder / "weights" / "tiny").symlink_to(FIXTURE)
    stderr = open(folder / "stderr.log", "wb")
    process = subprocess.Popen([str(sdgen), "serve", "--port", "0", "--queue-limit", str(queue_limit),
                                "--outputs", str(folder / "outputs"), "--log-level", "warning"],
                               cwd=folder, stdout=subprocess.PIPE, stderr=stderr, text=True)
    port: list[int] = []
    found = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            match = re.search(r"sdgen serving at http://[^/]*:(\d+)/", line)
            if match and not port:
                port.append(int(match.group(1)))
                found.set()
        found.set()

    threading.Thread(target=read, daemon=True).start()
    if not found.wait(60) or not port:
        process.kill()
        raise SystemExit(f"the server printed no 'sdgen serving at' line within 60 s "
                         f"(stderr: {(folder / 'stderr.log').read_text(errors='replace')[-500:]})")
    return process, f"http://127.0.0.1:{port[0]}", folder


def peak_rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def send(url: str, body: bytes, timeout: float) -> Outcome:
    request = urllib.request.Request(url + "/sdapi/v1/txt2img", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            data = response.read()
            images = len(json.loads(data).get("images", []))
            return Outcome(response.status, time.monotonic() - started, images)
    except urllib.error.HTTPError as error:
        error.read()
        return Outcome(error.code, time.monotonic() - started, 0, f"HTTP {error.code}")
    except Exception as error:  # reset, closed without an answer, timeout
        return Outcome(None, time.monotonic() - started, 0, f"{type(error).__name__}: {error}")


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * fraction // 1))
    return ordered[int(rank) - 1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--url", help="a running server, e.g. http://127.0.0.1:7860")
    target.add_argument("--sdgen", type=Path, help="start this sdgen over the tiny fixture model")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients (default 4)")
    parser.add_argument("--requests", type=int, default=40, help="requests in all (default 40)")
    parser.add_argument("--duration", type=float, default=120, help="stop sending after this many seconds (default 120)")
    parser.add_argument("--steps", type=int, default=5, help="sampling steps per request (default 5)")
    parser.add_argument("--size", type=int, default=32, help="width and height, a multiple of 8 (default 32)")
    parser.add_argument("--queue-limit", type=int, default=16, help="--queue-limit of a self-started server (default 16)")
    parser.add_argument("--backoff", type=float, default=0.1, help="seconds a client waits after a 503 (default 0.1)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds a request may take before it counts as lost")
    args = parser.parse_args()
    if args.size % 8:
        parser.error("--size must be a multiple of 8")

    process = folder = None
    if args.sdgen:
        process, url, folder = start_server(args.sdgen.resolve(), args.queue_limit)
    else:
        url = args.url.rstrip("/")

    lock = threading.Lock()
    outcomes: list[Outcome] = []
    sent = 0
    deadline = time.monotonic() + args.duration

    def client(index: int) -> None:
        nonlocal sent
        while True:
            with lock:
                if sent >= args.requests or time.monotonic() >= deadline:
                    return
                number = sent
                sent += 1
            body = json.dumps({"prompt": f"load test {index} {number}", "seed": number, "steps": args.steps,
                               "width": args.size, "height": args.size}).encode()
            outcome = send(url, body, args.timeout)
            with lock:
                outcomes.append(outcome)
            if outcome.status == 503:
                time.sleep(args.backoff)

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(args.clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started

    exit_status = rss = None
    if process is not None:
        rss = peak_rss_mib(process.pid)
        process.send_signal(signal.SIGTERM)
        try:
            exit_status = process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            exit_status = f"still running 30 s after SIGTERM (killed, {process.wait()})"
        shutil.rmtree(folder, ignore_errors=True)

    completed = [o for o in outcomes if o.status == 200]
    refused = [o for o in outcomes if o.status == 503]
    lost = [o for o in outcomes if o.status is None]
    others = [o for o in outcomes if o.status not in (200, 503, None)]
    server_errors = [o for o in others if o.status >= 500]
    images = sum(o.images for o in completed)
    latencies = [o.seconds for o in completed]
    unanswered = sent - len(outcomes)  # a thread still waiting: cannot happen after join, counted anyway

    rows = [
        ("machine", machine()),
        ("server", (f"self-started, --queue-limit {args.queue_limit}" if process else url)),
        ("load", f"{args.clients} clients, {args.size}x{args.size}, {args.steps} steps, limit {args.requests} requests / {args.duration:g} s"),
        ("requests sent", str(sent)),
        ("completed (200)", str(len(completed))),
        ("refused (503)", str(len(refused))),
        ("other errors", str(len(others)) + (f" ({', '.join(sorted({o.error for o in others}))})" if others else "")),
        ("lost (no answer)", str(len(lost) + unanswered) + (f" ({lost[0].error})" if lost else "")),
        ("wall time", f"{elapsed:.2f} s"),
        ("throughput", f"{images / elapsed:.2f} images/s" if elapsed > 0 else "n/a"),
        ("latency p50 / p90 / p99 / max (200s)",
         " / ".join(f"{percentile(latencies, q):.3f}" for q in (0.5, 0.9, 0.99)) + f" / {max(latencies, default=float('nan')):.3f} s"),
    ]
    if refused:
        rows.append(("latency of 503s, max", f"{max(o.seconds for o in refused):.3f} s"))
    if process is not None:
        rows.append(("server peak RSS (VmHWM)", f"{rss:.1f} MiB" if rss is not None else "unknown"))
        rows.append(("exit status on SIGTERM", str(exit_status)))

    print("| metric | value |")
    print("|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")

    problems = []
    if lost or unanswered:
        problems.append(f"{len(lost) + unanswered} requests lost")
    if server_errors:
        problems.append(f"{len(server_errors)} answers with a 5xx other than 503")
    if process is not None and exit_status != 0:
        problems.append(f"the server's exit status on SIGTERM was {exit_status}")
    if problems:
        print("FAIL: " + "; ".join(problems), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
