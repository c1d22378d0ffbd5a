"""Deliveries per second over LMTP with and without push_notify, in one run:
no plugin (the baseline), a fast endpoint, a slow endpoint (200 ms), a dead
endpoint (connection refused), a hanging endpoint (bounded by
push_notification_max_delay), spool-only mode, and a Redis stream, plain
and over TLS.

    sudo python3 bench/delivery-rate.py [--mails N] [--connections K]

Prints a table; run it on an otherwise idle machine. Numbers, not asserts:
tests never depend on timing."""
import argparse
import os
import shutil
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))

from built import ours  # noqa: E402
from pushtest import Dovecot, Receiver, free_port, make_certificate, make_message  # noqa: E402
from redistest import RedisServer  # noqa: E402


def deliver_parallel(d, mails, connections):
    """Delivers `mails` messages over `connections` LMTP connections at once;
    returns the elapsed seconds."""
    per = [mails // connections + (1 if i < mails % connections else 0)
           for i in range(connections)]
    msg = make_message(subject="bench", body="A benchmark message.\r\n" * 20)
    errors = []

    def worker(n):
        try:
            for _ in range(n):
                d.lmtp_deliver(["alice"], msg)
        except Exception as e:  # reported below
            errors.append(e)
    threads = [threading.Thread(target=worker, args=(n,)) for n in per]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    elapsed = time.monotonic() - start
    if errors:
        raise errors[0]
    return elapsed


def scenario(name, args, mails, connections, receiver=None, redis=None):
    with Dovecot(**args) as d:
        deliver_parallel(d, min(20, mails), connections)	# warm up
        elapsed = deliver_parallel(d, mails, connections)
        spooled = len(os.listdir(os.path.join(d.spool_dir, "new"))) \
            if os.path.isdir(os.path.join(d.spool_dir, "new")) else 0
    received = len(receiver.requests) if receiver else 0
    if redis:
        received = redis.command("XLEN", "mail-events")
    return name, mails / elapsed, elapsed * 1000 / mails * connections, received, spooled


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mails", type=int, default=300)
    ap.add_argument("--connections", type=int, default=4)
    a = ap.parse_args()
    hook = "http:url=%s/hook events=MessageNew"
    rows = []
    rows.append(scenario("no plugin (baseline)", dict(mail_plugins=""), a.mails, a.connections))
    with Receiver() as fast:
        rows.append(scenario("http, fast endpoint", ours({"push_notification_driver": hook % fast.url}),
                             a.mails, a.connections, fast))
    with Receiver() as slow:
        slow.respond(delay=0.2)
        rows.append(scenario("http, endpoint answers in 200 ms",
                             ours({"push_notification_driver": hook % slow.url}),
                             a.mails // 3, a.connections, slow))
    dead = "http://127.0.0.1:%d" % free_port()
    rows.append(scenario("http, endpoint down (refused) -> spool",
                         ours({"push_notification_driver": hook % dead}), a.mails, a.connections))
    with Receiver() as hang:
        hang.script([{"hang": True}] * 100000)
        rows.append(scenario("http, endpoint hangs, max_delay=500ms -> spool",
                             ours({"push_notification_driver": hook % hang.url + " timeout_msecs=60000",
                                   "push_notification_max_delay": "500ms"}),
                             max(8, a.mails // 30), a.connections, hang))
    with Receiver() as fast:
        rows.append(scenario("http, spool only (dispatcher sends)",
                             ours({"push_notification_driver": hook % fast.url,
                                   "push_notification_spool_only": "yes"}),
                             a.mails, a.connections, fast))
    with RedisServer() as redis:
        rows.append(scenario("redis stream (XADD, pipelined)",
                             ours({"push_notification_driver":
                                   "redis:url=%s stream=mail-events events=MessageNew" % redis.url}),
                             a.mails, a.connections, redis=redis))
    certs = tempfile.mkdtemp(prefix="bench-tls-")
    os.chmod(certs, 0o755)
    cert, key = make_certificate(certs)
    with RedisServer(tls=(cert, key)) as redis:
        rows.append(scenario("redis stream over TLS (rediss://)",
                             ours({"push_notification_driver":
                                   "redis:url=%s stream=mail-events events=MessageNew "
                                   "tls_ca_file=%s" % (redis.tls_url, cert)}),
                             a.mails, a.connections, redis=redis))
    shutil.rmtree(certs)
    print("%-46s %12s %16s %9s %8s" % ("scenario", "mails/s", "ms per delivery", "received", "spooled"))
    for name, rate, ms, received, spooled in rows:
        print("%-46s %12.1f %16.1f %9d %8d" % (name, rate, ms, received, spooled))
    print("(%d LMTP connections in parallel; %d mails per scenario, fewer for the slow ones;"
          " 'ms per delivery' is the wall time one connection spent per mail)" % (a.connections, a.mails))


if __name__ == "__main__":
    main()
