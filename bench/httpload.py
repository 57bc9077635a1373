"""A small HTTP load generator, run as its own process: N keep-alive connections POSTing one body.

    python bench/httpload.py --port 8000 --path /api/jobs/ --key KEY --body '{...}' --connections 16 --seconds 5

Prints one JSON line: requests, statuses, requests/s of 2xx answers, p50/p99 latency in ms.
"""
import argparse
import http.client
import json
import sys
import threading
import time


def worker(args, body: bytes, start: threading.Barrier, deadline_box: list, out: list) -> None:
    headers = {"Authorization": f"Bearer {args.key}", "Content-Type": "application/json",
               "Connection": "keep-alive"}
    conn = http.client.HTTPConnection(args.host, args.port, timeout=30)
    start.wait()
    deadline = deadline_box[0]
    while True:
        t0 = time.perf_counter()
        if t0 >= deadline:
            break
        try:
            conn.request("POST", args.path, body=body, headers=headers)
            resp = conn.getresponse()
            resp.read()
            status = resp.status
            if resp.getheader("Connection", "").lower() == "close":
                conn.close()  # a sync gunicorn worker closes after each answer; reconnect on the next request
        except (OSError, http.client.HTTPException):
            conn.close()
            status = 0
        t1 = time.perf_counter()
        if t1 <= deadline:  # answers after the window are not counted (the window is what is measured)
            out.append((status, t1 - t0))
    conn.close()


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    data = sorted(values)
    return data[min(len(data) - 1, int(round((len(data) - 1) * p / 100)))]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--body", required=True)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    body = args.body.encode()
    barrier = threading.Barrier(args.connections + 1)
    box = [0.0]
    results: list[list] = [[] for _ in range(args.connections)]
    threads = [threading.Thread(target=worker, args=(args, body, barrier, box, results[i]), daemon=True)
               for i in range(args.connections)]
    for t in threads:
        t.start()
    box[0] = time.perf_counter() + args.seconds
    barrier.wait()
    for t in threads:
        # Requests still in flight at the end of the window are abandoned (daemon threads), so a slow
        # server cannot stretch the run.
        t.join(timeout=max(0.0, box[0] - time.perf_counter()) + 0.5)
    elapsed = args.seconds
    flat = [r for rs in results[:] for r in list(rs)]
    ok = [lat for status, lat in flat if 200 <= status < 300]
    statuses: dict[str, int] = {}
    for status, _ in flat:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    print(json.dumps({"requests": len(flat), "ok": len(ok), "statuses": statuses, "seconds": elapsed,
                      "rps": len(ok) / elapsed, "p50_ms": percentile(ok, 50) * 1000,
                      "p99_ms": percentile(ok, 99) * 1000}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
