# tests/e2e/lib/haproxy_admin.sh: the test's own talk with a haproxy
# through its admin socket (the runtime API), apart from ccchef's balancer
# code that the tests check. Shared by lib/haproxy.sh and lib/rolling_env.sh.
#
#   haproxy_cmd SOCKET COMMAND   one command; its whole answer on stdout
haproxy_cmd() {
	python3 - "$1" "$2" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(5)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
out = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    out += b
sys.stdout.write(out.decode())
PY
}
