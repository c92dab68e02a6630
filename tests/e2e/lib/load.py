#!/usr/bin/python3
"""tests/e2e/lib/load.py: a bounded load loop for the balancer tests.

    load.py URL REQUESTS CONCURRENCY [--rate R] [--progress FILE] [--timeout S]

Sends exactly REQUESTS GET requests to URL from CONCURRENCY workers, each on
a new connection (as browsers behind a balancer mostly are), at most R
requests a second in all when --rate is given (so a load spans a known
stretch of a test whatever the machine's speed), and prints one JSON object:
{"sent": N, "failed": F, "by": {"ANSWER": count, ...}, "errors": [first 20]}
where ANSWER is the first line of a 200 response's body (an engine says
"NAME VERSION"). Anything else is a failed request: a refused or reset
connection, a timeout, a status other than 200. --progress FILE gets the
number of requests finished, rewritten as they finish, so a test can act in
the middle of the load. It stops by itself: REQUESTS is the bound."""
import argparse
import http.client
import json
import os
import threading
import time
import urllib.parse


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("requests", type=int)
    ap.add_argument("concurrency", type=int)
    ap.add_argument("--rate", type=float, default=0)
    ap.add_argument("--progress")
    ap.add_argument("--timeout", type=float, default=10)
    args = ap.parse_args()
    u = urllib.parse.urlsplit(args.url)
    path = u.path or "/"
    lock = threading.Lock()
    state = {"next": 0, "done": 0, "failed": 0, "by": {}, "errors": []}
    start = time.monotonic()

    def take():
        with lock:
            i = state["next"]
            if i >= args.requests:
                return None
            state["next"] = i + 1
            return i

    def record(answer, error):
        with lock:
            state["done"] += 1
            if error is None:
                state["by"][answer] = state["by"].get(answer, 0) + 1
            else:
                state["failed"] += 1
                if len(state["errors"]) < 20:
                    state["errors"].append(error)
            done = state["done"]
        if args.progress and (done % 5 == 0 or done == args.requests):
            tmp = args.progress + ".tmp%d" % threading.get_ident()
            with open(tmp, "w") as f:
                f.write("%d\n" % done)
            os.replace(tmp, args.progress)

    def worker():
        while True:
            i = take()
            if i is None:
                return
            if args.rate > 0:
                delay = start + i / args.rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            try:
                c = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=args.timeout)
                c.request("GET", path, headers={"Connection": "close"})
                r = c.getresponse()
                body = r.read().decode("utf-8", "replace")
                c.close()
                if r.status != 200:
                    record(None, "request %d: status %d %s" % (i, r.status, body[:80].strip()))
                else:
                    record(body.split("\n", 1)[0].strip(), None)
            except Exception as e:  # any transport failure is a failed request
                record(None, "request %d: %s: %s" % (i, type(e).__name__, e))

    threads = [threading.Thread(target=worker) for _ in range(args.concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(json.dumps({"sent": state["done"], "failed": state["failed"], "by": state["by"],
                      "errors": state["errors"], "seconds": round(time.monotonic() - start, 3)},
                     sort_keys=True))


main()
