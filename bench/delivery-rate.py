"""Deliveries per second over LMTP with and without push_notify, in one run:
no plugin (the baseline); the OX driver beside Dovecot's own; with the relay
(pushadm relay run) taking the notifications: a fast, a 200 ms, a refused
and a hanging endpoint (the last two come back and every notification must
arrive), sync = full and normal; what the plugin costs with no event to
notify, and with every event built and only logged (dlog); without the
relay: a fast, a slow, a dead and a hanging endpoint (bounded by
push_notification_max_delay), spool-only mode, and a Redis stream, plain
and over TLS. Endpoints are bench/receiver.c in processes of their own.

    sudo python3 bench/delivery-rate.py [--mails N] [--connections K] [--rounds R] [--only WORD]

Every row takes turns with a baseline Dovecot of its own (slices of the
mails to one, then the other); its ratio is to that baseline. Prints a
table; run it on an otherwise idle machine. Numbers, not asserts: tests
never depend on timing."""
import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))

from built import ours, relay  # noqa: E402
from pushtest import Dovecot, free_port, make_certificate, make_message  # noqa: E402
from redistest import RedisServer  # noqa: E402


RECEIVER = None


def receiver_binary():
    """bench/receiver.c, compiled once per run."""
    global RECEIVER
    if RECEIVER is None:
        RECEIVER = os.path.join(tempfile.mkdtemp(prefix="bench-receiver-"), "receiver")
        subprocess.run(["cc", "-O2", "-Wall", "-Wextra", "-pthread", "-o", RECEIVER,
                        os.path.join(HERE, "receiver.c")], check=True)
    return RECEIVER


class Endpoint:
    """bench/receiver.c in a process of its own (see there why), on a
    loopback port; arrivals() reads what it got."""

    def __init__(self, port=None, delay=0.0, hang=False):
        self.port = port or free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        fd, self.log = tempfile.mkstemp(prefix="bench-endpoint-")
        os.close(fd)
        args = [receiver_binary(), str(self.port), self.log]
        if delay:
            args.append(str(int(delay * 1000)))
        if hang:
            args.append("hang")
        self.proc = subprocess.Popen(args)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("bench/receiver.py did not start on port %d" % self.port)

    def arrivals(self):
        """(unix time, subject tag) of every request so far."""
        with open(self.log) as f:
            return [(float(t), tag) for t, tag in (line.split() for line in f if " " in line)]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        os.unlink(self.log)


def deliver_parallel(d, mails, connections, replied=None, tag="bench", first=0):
    """Delivers `mails` messages over `connections` LMTP connections at once;
    returns the elapsed seconds. Each message has its own subject
    ("<tag>-<worker>-<n>-", n counting from first); `replied` maps it to
    the time LMTP answered."""
    per = [mails // connections + (1 if i < mails % connections else 0)
           for i in range(connections)]
    body = "A benchmark message.\r\n" * 20
    errors = []

    def worker(w, n):
        try:
            for i in range(n):
                subject = "%s-%d-%d-" % (tag, w, first + i)
                d.lmtp_deliver(["alice"], make_message(subject=subject, body=body))
                if replied is not None:
                    replied[subject] = time.time()
        except Exception as e:  # reported below
            errors.append(e)
    threads = [threading.Thread(target=worker, args=(w, n)) for w, n in enumerate(per)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    elapsed = time.monotonic() - start
    if errors:
        raise errors[0]
    return elapsed


ONLY = None
TICK = os.sysconf("SC_CLK_TCK")
# Every scenario's private Dovecot directory, removed when the run ends,
# not when its scenario does: ext4 looks at recently deleted inodes when
# it allocates one (find_inode_bit/recently_deleted in perf), so a row
# that ran right after another one's thousands of mails were deleted paid
# for that deletion, and the rows did not all pay alike.
KEPT_DIRS = []
# how many slices of its mails a row and its baseline take turns with
CHUNKS = 10


def tree_cpu(roots):
    """CPU seconds (user + system) used so far by the processes in roots
    and all their descendants, the exited ones their parents reaped
    included: unlike wall time, this does not move with what else the
    machine runs."""
    parent, ticks = {}, {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(name)
        parent[pid] = int(fields[1])
        ticks[pid] = sum(int(x) for x in fields[11:15])
    total = 0
    for pid in ticks:
        p, seen = pid, 0
        while p > 1 and seen < 64:
            if p in roots:
                total += ticks[pid]
                break
            p, seen = parent.get(p, 0), seen + 1
    return total / TICK


def endpoint_pid(endpoint):
    proc = getattr(endpoint, "proc", None)
    return proc.pid if proc is not None else None


class CpuMeter:
    """Per part of a scenario (Dovecot, relay, endpoint, LMTP client), the
    CPU it used between start() and stop()."""

    def __init__(self, parts):
        self.parts = parts		# name -> function returning a root pid or None

    def sample(self):
        out = {}
        for name, pid in self.parts.items():
            pid = pid()
            out[name] = tree_cpu({pid}) if pid else 0.0
        out["client"] = time.process_time()
        return out

    def start(self):
        self.before = self.sample()

    def stop(self):
        after = self.sample()
        return {k: after[k] - self.before[k] for k in after}


def first_receipts(endpoints):
    """Each notified message's subject tag -> when it first arrived."""
    first = {}
    for endpoint in endpoints:
        for t, tag in endpoint.arrivals():
            if tag != "-":
                first[tag] = min(first.get(tag, t), t)
    return first


def latencies(first, replied):
    """Milliseconds from each LMTP reply to the endpoint's first receipt of
    that message's notification (negative: it arrived before the reply)."""
    return sorted((t - replied[tag]) * 1000 for tag, t in first.items() if tag in replied)


def percentile(values, p):
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(round(p / 100.0 * (len(values) - 1))))]


def add_cpu(total, part):
    for k, v in part.items():
        total[k] = total.get(k, 0.0) + v


def scenario(name, args, mails, connections, receiver=None, redis=None,
             setup=None, relay_conf=None, come_back=None, drain_secs=120,
             chunks=CHUNKS):
    """One row: deliveries per second and, with a receiver, how many
    messages were notified and how late, beside a baseline Dovecot (no
    plugin) of its own. The two take turns: `chunks` slices of the mails
    go to the baseline, then to the row's Dovecot, so that whatever the
    machine does meanwhile falls on both alike (this VM's baseline moved
    by half between runs a minute apart, faster than rows run). With
    relay_conf (lines of a relay.conf) a real `pushadm relay run` takes
    the notifications; after the deliveries the endpoint comes back
    (come_back() returns the receiver that replaces a dead or hanging one)
    and the row waits, at most drain_secs, until every message was
    notified."""
    if ONLY and ONLY not in name:
        return None
    # slices of at least four mails per connection: a row of few mails
    # keeps its parallel connections busy
    chunks = max(1, min(chunks, mails // (4 * connections)))
    replied = {}
    receivers = [receiver] if receiver is not None else []
    replacements = []
    warmup = min(20, mails)
    elapsed = base_elapsed = 0.0
    cpu, base_cpu = {}, {}
    with Dovecot(mail_plugins="") as base, Dovecot(**args) as d:
        KEPT_DIRS.extend([base.tmp, d.tmp])
        r = relay(d, relay_conf).start() if relay_conf is not None else None
        try:
            if setup:
                setup(d)
            deliver_parallel(base, warmup, connections, tag="warmup")
            deliver_parallel(d, warmup, connections, tag="warmup")
            base_meter = CpuMeter({"dovecot": lambda: base.pid})
            meter = CpuMeter({
                "dovecot": lambda: d.pid,
                "relay": lambda: r.proc.pid if r is not None else None,
                "endpoint": lambda: endpoint_pid(receiver or redis)})
            done = warmup
            for k in range(chunks):
                n = mails // chunks + (1 if k < mails % chunks else 0)
                base_meter.start()
                base_elapsed += deliver_parallel(base, n, connections, tag="base")
                add_cpu(base_cpu, base_meter.stop())
                meter.start()
                elapsed += deliver_parallel(d, n, connections, replied=replied,
                                            first=k * mails)
                client = time.process_time() - meter.before["client"]
                done += n
                if r is not None and not come_back:
                    # the relay's sending belongs to the mails too
                    deadline = time.monotonic() + min(drain_secs, 30)
                    while (receiver is not None and
                           len(first_receipts(receivers)) < done and
                           time.monotonic() < deadline):
                        time.sleep(0.005)
                part = meter.stop()
                part["client"] = client	# not its wait for the endpoint
                add_cpu(cpu, part)
            if r is not None:
                if come_back:
                    replacements.append(come_back())
                    receivers.append(replacements[-1])
                deadline = time.monotonic() + drain_secs
                while (len(first_receipts(receivers)) < mails + warmup and
                       time.monotonic() < deadline):
                    time.sleep(0.1)
        finally:
            if r is not None:
                r.stop()
        spooled = len(os.listdir(os.path.join(d.spool_dir, "new"))) \
            if os.path.isdir(os.path.join(d.spool_dir, "new")) else 0
    first = first_receipts(receivers)
    for rep in replacements:
        rep.__exit__(None, None, None)
    lat = latencies(first, replied)
    received = len(first)
    if redis:
        received = redis.command("XLEN", "mail-events")
    row = dict(name=name, rate=mails / elapsed, ms=elapsed * 1000 / mails * connections,
               received=received, spooled=spooled, p50=percentile(lat, 50),
               p99=percentile(lat, 99), base_rate=mails / base_elapsed,
               base_ms=base_elapsed * 1000 / mails * connections)
    for part, secs in cpu.items():
        row["cpu_" + part] = secs * 1000 / mails
    row["cpu"] = sum(cpu.values()) * 1000 / mails
    row["base_cpu_dovecot"] = base_cpu["dovecot"] * 1000 / mails
    row["base_cpu_client"] = base_cpu["client"] * 1000 / mails
    row["base_cpu"] = row["base_cpu_dovecot"] + row["base_cpu_client"]
    row["ratio"] = row["rate"] / row["base_rate"]
    row["cpu_ratio"] = row["base_cpu"] / row["cpu"]
    return row


def print_rows(rows, connections, mails, rounds, legend=True):
    print("%-50s %9s %6s %9s %9s %8s %9s %9s %6s %6s %6s %6s %6s %6s" % (
        "scenario", "mails/s", "ratio", "ms/mail", "received", "spooled",
        "p50 ms", "p99 ms", "cpu", "c-rat", "dovec", "relay", "endp", "client"))
    for r in rows:
        print("%-50s %9.1f %6.2f %9.1f %9d %8d %9.1f %9.1f %6.2f %6.2f %6.2f %6.2f %6.2f %6.2f" % (
            r["name"], r["rate"], r["ratio"], r["ms"], r["received"],
            r["spooled"], r["p50"], r["p99"], r["cpu"], r["cpu_ratio"],
            r["cpu_dovecot"], r["cpu_relay"], r["cpu_endpoint"], r["cpu_client"]))
    if not legend:
        return
    print("(%d round(s), medians; %d LMTP connections in parallel; %d mails per scenario, fewer for the slow"
          " ones; ratio: to the baseline Dovecot that took turns with the row, the baseline row is their mean; ms/mail: the wall time one"
          " connection spent per mail; received: messages notified (each counted once),"
          " received/spooled include 20 warm-up mails;"
          " p50/p99: from the LMTP reply to the endpoint's receipt, negative when"
          " the notification arrived before the reply; cpu: CPU ms per mail of every part"
          " together, c-rat: the baselines' cpu divided by the row's (what the ratio"
          " would be where CPU is the limit), then per part: Dovecot with its LMTP"
          " processes, the relay, the endpoint, the benchmark's LMTP client)"
          % (rounds, connections, mails))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mails", type=int, default=300)
    ap.add_argument("--connections", type=int, default=4)
    ap.add_argument("--only", metavar="WORD",
                    help="only the scenarios whose name contains WORD (and the baseline)")
    ap.add_argument("--rounds", type=int, default=1,
                    help="run every scenario this many times, interleaved, and print"
                    " medians (ratios are taken within each round)")
    a = ap.parse_args()
    global ONLY
    ONLY = a.only
    os.environ["KEEP_TMP"] = "1"	# see KEPT_DIRS
    rounds = []
    try:
        for i in range(max(1, a.rounds)):
            rounds.append(one_round(a))
            if a.rounds > 1:	# each round as it ends: how far the rounds differ
                print("round %d:" % (i + 1))
                print_rows(median_rows(rounds[-1:]), a.connections, a.mails, 1, legend=False)
                sys.stdout.flush()
    finally:
        for path in KEPT_DIRS:
            shutil.rmtree(path, ignore_errors=True)
    print_rows(median_rows(rounds), a.connections, a.mails, len(rounds))


def median(values):
    values = sorted(values)
    return values[len(values) // 2]


def median_rows(rounds):
    """Per scenario: the median of each column over the rounds; the ratio is
    the median of each round's ratio to its own baseline; received
    and spooled are the fewest any round saw."""
    rows = []
    for i, first in enumerate(rounds[0]):
        runs = [r[i] for r in rounds]
        row = dict(name=first["name"])
        for key in ("rate", "ms", "p50", "p99", "cpu", "cpu_dovecot", "cpu_relay",
                    "cpu_endpoint", "cpu_client"):
            row[key] = median([r[key] for r in runs])
        row["ratio"] = median([r["ratio"] for r in runs])
        row["cpu_ratio"] = median([r["cpu_ratio"] for r in runs])
        row["received"] = min(r["received"] for r in runs)
        row["spooled"] = min(r["spooled"] for r in runs)
        rows.append(row)
    return rows


def with_baseline(rows):
    """The round's rows after a baseline row: the mean of the baseline
    runs that took turns with them."""
    if not rows:	# --only matched no scenario: no baseline ran either
        raise SystemExit("delivery-rate: no scenario's name contains %r" % ONLY)
    base = dict(name="no plugin (baseline)", received=0, spooled=0,
                p50=float("nan"), p99=float("nan"), ratio=1.0, cpu_ratio=1.0,
                cpu_relay=0.0, cpu_endpoint=0.0)
    for key, src in (("rate", "base_rate"), ("ms", "base_ms"), ("cpu", "base_cpu"),
                     ("cpu_dovecot", "base_cpu_dovecot"), ("cpu_client", "base_cpu_client")):
        base[key] = sum(r[src] for r in rows) / len(rows)
    return [base] + rows


def one_round(a):
    hook = "http:url=%s/hook events=MessageNew"
    runs = []

    def row(*args, **kwargs):
        r = scenario(*args, **kwargs)
        if r is not None:
            runs.append(r)
    ox_url = "ox:url=http://login:pass@127.0.0.1:%d/preliminary/http-notify/v1/notify"

    def ox_opt_in(d):
        d.set_ox_metadata("alice", "user=alice")
    with Endpoint() as ref:
        row("ox, fast endpoint, Dovecot's own push_notification",
            dict(mail_plugins="notify push_notification",
                 plugin={"push_notification_driver": ox_url % ref.port}),
            a.mails, a.connections, ref, setup=ox_opt_in)
    with Endpoint() as fast:
        row("ox, fast endpoint", ours({"push_notification_driver": ox_url % fast.port}),
            a.mails, a.connections, fast, setup=ox_opt_in)
    # the relay: deliveries hand notifications over and never wait on an
    # endpoint; retries are quick here so the rows can wait for every one
    quick = ['backoff = "1s"', 'max_backoff = "2s"', 'circuit_time = "1s"']
    with Endpoint() as fast:
        row("relay: ox, fast endpoint",
            ours({"push_notification_driver": ox_url % fast.port}),
            a.mails, a.connections, fast, setup=ox_opt_in, relay_conf=quick)
    with Endpoint() as fast:
        row("relay: http, fast endpoint",
            ours({"push_notification_driver": hook % fast.url}),
            a.mails, a.connections, fast, relay_conf=quick)
    with Endpoint() as fast:
        row("relay (send_first = 0): http, fast endpoint",
            ours({"push_notification_driver": hook % fast.url}),
            a.mails, a.connections, fast,
            relay_conf=quick + ['send_first = 0'])
    with Endpoint() as fast:
        row("relay (sync = normal): http, fast endpoint",
            ours({"push_notification_driver": hook % fast.url}),
            a.mails, a.connections, fast,
            relay_conf=quick + ['sync = "normal"'])
    row("relay: http, endpoint refused (hand-off only)",
        ours({"push_notification_driver": hook % ("http://127.0.0.1:%d" % free_port())}),
        a.mails, a.connections, relay_conf=[], drain_secs=0)
    row("relay (sync = normal): http, endpoint refused (hand-off only)",
        ours({"push_notification_driver": hook % ("http://127.0.0.1:%d" % free_port())}),
        a.mails, a.connections, relay_conf=['sync = "normal"'], drain_secs=0)
    with Endpoint(delay=0.2) as slow:
        row("relay: http, endpoint answers in 200 ms",
            ours({"push_notification_driver": hook % slow.url}),
            a.mails, a.connections, slow, relay_conf=quick)
    dead_port = free_port()
    row("relay: http, endpoint refused, then back",
        ours({"push_notification_driver": hook % ("http://127.0.0.1:%d" % dead_port)}),
        a.mails, a.connections, relay_conf=quick,
        come_back=lambda: Endpoint(port=dead_port))
    with Endpoint(hang=True) as hang:

        def hang_ends():	# counted: what the endpoint that came back got
            hang.stop()
            return Endpoint(port=hang.port)
        row("relay: http, endpoint hangs, then back",
            ours({"push_notification_driver": hook % hang.url + " timeout_msecs=2000"}),
            a.mails, a.connections, relay_conf=quick, come_back=hang_ends)
    # what a notification costs before anything is sent: the plugin with
    # no event to notify, then every event built and logged (dlog)
    row("plugin loaded, no event matches (nothing built)",
        ours({"push_notification_driver":
              "http:url=http://127.0.0.1:%d/hook events=FlagsSet" % free_port()}),
        a.mails, a.connections)
    row("dlog (every event built and logged, nothing sent)",
        ours({"push_notification_driver": "dlog"}), a.mails, a.connections)
    with Endpoint() as fast:
        row("http, fast endpoint", ours({"push_notification_driver": hook % fast.url}),
            a.mails, a.connections, fast)
    with Endpoint(delay=0.2) as slow:
        row("http, endpoint answers in 200 ms",
            ours({"push_notification_driver": hook % slow.url}),
            a.mails // 3, a.connections, slow)
    dead = "http://127.0.0.1:%d" % free_port()
    row("http, endpoint down (refused) -> spool",
        ours({"push_notification_driver": hook % dead}), a.mails, a.connections)
    with Endpoint(hang=True) as hang:
        row("http, endpoint hangs, max_delay=500ms -> spool",
            ours({"push_notification_driver": hook % hang.url + " timeout_msecs=60000",
                  "push_notification_max_delay": "500ms"}),
            max(8, a.mails // 30), a.connections, hang)
    with Endpoint() as fast:
        row("http, spool only (dispatcher sends)",
            ours({"push_notification_driver": hook % fast.url,
                  "push_notification_spool_only": "yes"}),
            a.mails, a.connections, fast)
    with RedisServer() as redis:
        row("redis stream (XADD, pipelined)",
            ours({"push_notification_driver":
                  "redis:url=%s stream=mail-events events=MessageNew" % redis.url}),
            a.mails, a.connections, redis=redis)
    certs = tempfile.mkdtemp(prefix="bench-tls-")
    os.chmod(certs, 0o755)
    cert, key = make_certificate(certs)
    with RedisServer(tls=(cert, key)) as redis:
        row("redis stream over TLS (rediss://)",
            ours({"push_notification_driver":
                  "redis:url=%s stream=mail-events events=MessageNew "
                  "tls_ca_file=%s" % (redis.tls_url, cert)}),
            a.mails, a.connections, redis=redis)
    shutil.rmtree(certs)
    return with_baseline(runs)

if __name__ == "__main__":
    main()
