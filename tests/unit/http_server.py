#!/usr/bin/python3
"""A raw HTTP server for tests/unit/lua/test_http.lua and tests/e2e/http_check.sh:
it answers each path
with exact bytes (chunked, trickled, truncated, never), which a real web
server would not send on demand. Binds 127.0.0.1 on a free port, prints the
port, serves until killed (the test's spawn group kills it, by its own
handle) or for 120 s at most."""
import socket
import threading
import time

CANNED = {
    "/cl": b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Twice: a\r\nX-Twice: b\r\n\r\nhello",
    "/chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                b"5\r\nhello\r\n1;ext=1\r\n \r\n5\r\nworld\r\n0\r\nX-Trailer: t\r\n\r\n",
    "/eof": b"HTTP/1.0 200 OK\r\nServer: x\r\n\r\nuntil close",
    "/redirect": b"HTTP/1.1 301 Moved\r\nLocation: http://example.org/new\r\nContent-Length: 0\r\n\r\n",
    "/interim": b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n",
    "/truncated": b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort",
    "/garbage": b"SSH-2.0-OpenSSH_9.2\r\n\r\n",
    "/big": b"HTTP/1.1 200 OK\r\nContent-Length: 3000000\r\n\r\n" + b"x" * 3000000,
    "/bigchunks": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                  + b"1\r\nx\r\n" * 200000 + b"0\r\n\r\n",
}


COUNTS = {}
LOCK = threading.Lock()


def handle(conn):
    with conn:
        data = b""
        while b"\r\n\r\n" not in data:
            got = conn.recv(4096)
            if not got:
                return
            data += got
        line = data.split(b"\r\n", 1)[0].decode()
        method, target, _ = line.split(" ")
        path = target.split("?")[0]
        if path == "/echo":
            body = data
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        elif path.startswith("/flaky/"):  # /flaky/NAME/N: 503 for the first N requests, then 200
            _, _, name, n = path.split("/")
            with LOCK:
                COUNTS[name] = COUNTS.get(name, 0) + 1
                seen = COUNTS[name]
            if seen <= int(n):
                conn.sendall(b"HTTP/1.1 503 Busy\r\nContent-Length: 8\r\n\r\nnot yet\n")
            else:
                body = b"ready after %d\n" % seen
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        elif path == "/hang":
            time.sleep(30)
        elif path == "/trickle":  # a byte every 50 ms: never done within a short deadline
            for b in CANNED["/cl"]:
                conn.sendall(bytes([b]))
                time.sleep(0.05)
        elif path == "/slices":  # the response in odd slices, to cross every boundary
            resp = CANNED["/chunked"]
            for i in range(0, len(resp), 3):
                conn.sendall(resp[i:i + 3])
                time.sleep(0.001)
        else:
            conn.sendall(CANNED.get(path, b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"))


def main():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    print(srv.getsockname()[1], flush=True)
    srv.settimeout(1)
    end = time.monotonic() + 120
    while time.monotonic() < end:
        try:
            conn, _ = srv.accept()
        except socket.timeout:
            continue
        conn.settimeout(None)
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


main()
