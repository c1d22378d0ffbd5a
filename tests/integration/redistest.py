"""A private redis-server for tests and a minimal RESP client (redis-py is
not installable here). Loopback and a unix socket only; stopped by pid."""
import os
import shutil
import socket
import subprocess
import tempfile

from pushtest import free_port, wait_until


class RedisServer:
    """tls=(cert, key) adds a TLS port (clients need no certificate)."""

    def __init__(self, password=None, tls=None, port=None):
        self.tmp = tempfile.mkdtemp(prefix="pushtest-redis-")
        os.chmod(self.tmp, 0o755)
        self.port = port or free_port()
        self.socket_path = os.path.join(self.tmp, "redis.sock")
        self.password = password
        self.tls = tls
        self.tls_port = free_port() if tls else None
        self.proc = None

    @property
    def tls_url(self):
        return "rediss://127.0.0.1:%d" % self.tls_port

    @property
    def url(self):
        auth = ":%s@" % self.password if self.password else ""
        return "redis://%s127.0.0.1:%d" % (auth, self.port)

    def start(self):
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                "--unixsocket", self.socket_path, "--unixsocketperm", "777",
                "--save", "", "--appendonly", "no", "--dir", self.tmp,
                "--daemonize", "no", "--logfile", os.path.join(self.tmp, "redis.log")]
        if self.password:
            args += ["--requirepass", self.password]
        if self.tls:
            args += ["--tls-port", str(self.tls_port), "--tls-cert-file", self.tls[0],
                     "--tls-key-file", self.tls[1], "--tls-auth-clients", "no"]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: os.path.exists(self.socket_path), 10, "redis-server")
        return self

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
            self.proc = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def command(self, *args, db=0):
        """One command over RESP (in database db); returns the decoded reply."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as s:
            f = s.makefile("rb")
            if self.password:
                s.sendall(encode(["AUTH", self.password]))
                read_reply(f)
            if db:
                s.sendall(encode(["SELECT", db]))
                read_reply(f)
            s.sendall(encode(args))
            return read_reply(f)


def encode(args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


def read_reply(f):
    line = f.readline()
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest.decode()
    if kind == b"-":
        raise RuntimeError(rest.decode())
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)[:-2]
        return data.decode("utf-8")
    if kind == b"*":
        n = int(rest)
        return None if n < 0 else [read_reply(f) for _ in range(n)]
    raise RuntimeError("bad RESP reply %r" % line)


def stream_entries(server, stream, db=0):
    """[(id, {field: value})] of a stream, oldest first."""
    return [(eid, dict(zip(fields[::2], fields[1::2])))
            for eid, fields in server.command("XRANGE", stream, "-", "+", db=db)]
