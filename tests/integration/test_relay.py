"""The relay (pushadm relay run): the plugin's hand-off over its socket and
the fallback when it is absent, the journal across SIGKILL and SIGTERM,
relay.conf, and the socket's trust checks. docs/spool.md "The relay"."""
import contextlib
import errno
import grp
import json
import os
import re
import shutil
import signal
import smtplib
import socket
import struct
import subprocess
import tempfile
import threading
import time

from built import PUSHADM, ours, relay
from pushtest import Dovecot, Receiver, TEST_USER, free_port, make_message, wait_until

ID_RX = r"[0-9a-f-]{36}"


def hook(url, options="events=MessageNew", **extra):
    plugin = {"push_notification_driver": ("http:url=%s %s" % (url, options)).strip()}
    plugin.update(extra)
    return plugin


def relay_connections(d, count):
    """count connections to the relay's socket, as a delivery makes them."""
    conns = []
    for i in range(count):
        c = socket.socket(socket.AF_UNIX)
        c.settimeout(10)
        c.connect(d.relay_socket)
        conns.append(c)
    return conns


@contextlib.contextmanager
def strace(r, syscalls, path):
    """The relay's syscalls (a comma list) traced into path while the block
    runs; it starts once strace is attached."""
    tracer = subprocess.Popen(["strace", "-f", "-yy", "-e", "trace=" + syscalls,
                               "-o", path, "-p", str(r.proc.pid)],
                              stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: "TracerPid:\t0\n" not in
                   open("/proc/%d/status" % r.proc.pid).read(), 10, "strace to attach")
        yield
    finally:
        tracer.terminate()
        tracer.wait(10)


def deliver_session(d, subjects, user="alice"):
    """Many mails in ONE LMTP session: one delivery process."""
    with smtplib.LMTP("127.0.0.1", d.lmtp_port, timeout=60) as lmtp:
        for s in subjects:
            refused = lmtp.sendmail("sender@example.org", [user],
                                    make_message(subject=s))
            assert not refused, refused


def parse_record(blob):
    """A journaled record (spool format): its fields and its body."""
    head, _, body = blob.partition(b"\n\n")
    fields = {}
    for line in head.decode().splitlines()[1:]:
        key, _, value = line.partition(": ")
        fields[key] = value
    assert int(fields["body"]) == len(body), fields
    return fields, body


def journaled_subjects(r):
    return [json.loads(parse_record(row[3])[1])["subject"] for row in r.journal_rows()]


# --- hand-off and fallback -------------------------------------------------

def test_handoff_journals_and_delivery_sends_nothing():
    port = free_port()	# the endpoint is down: only the relay may send
    with Dovecot(**ours(hook("http://127.0.0.1:%d/hook" % port),
                        mail_debug=True)) as d, relay(d) as r:
        deliver_session(d, ["handed off"])
        line = d.wait_log(r"Notification %s handed to the relay" % ID_RX)
        nid = re.search(ID_RX, line).group(0)
        rows = r.journal_rows()
        assert [(row[0], row[1]) for row in rows] == [(nid, "alice")], rows
        fields, body = parse_record(rows[0][3])
        assert fields["driver"] == "push_notification_driver"
        assert fields["method"] == "POST"
        # only trusted fields travel: no URL, header or secret
        assert set(fields) == {"id", "created", "attempts", "next", "user",
                               "driver", "method", "body"}, fields
        doc = json.loads(body)
        assert doc["id"] == nid and doc["subject"] == "handed off"
        assert doc["event"] == "MessageNew" and doc["user"] == "alice"
        # the delivery neither sent (connection refused) nor spooled
        log = d.log()
        assert "failed" not in log and "spooled" not in log, log[-3000:]
        assert os.listdir(os.path.join(d.spool_dir, "new")) == [] \
            if os.path.isdir(os.path.join(d.spool_dir, "new")) else True


def test_handoff_notification_arrives_via_relay():
    """Journaled while the endpoint is down, sent by the relay when it is
    back: the exact document the delivery made, with its id."""
    port = free_port()
    with Dovecot(**ours(hook("http://127.0.0.1:%d/hook" % port),
                        mail_debug=True)) as d, relay(d) as r:
        deliver_session(d, ["via the relay"])
        line = d.wait_log(r"Notification %s handed to the relay" % ID_RX)
        nid = re.search(ID_RX, line).group(0)
        wait_until(lambda: r.journal_rows() and r.journal_rows()[0][2] >= 1, 10,
                   "a first attempt")
        body = parse_record(r.journal_rows()[0][3])[1]
        with Receiver(port=port) as rcv:
            result = subprocess.run([PUSHADM, "-c", d.config, "relay", "retry", nid],
                                    capture_output=True, text=True, timeout=30,
                                    env=r.env())
            assert result.stdout == "1 entries due now\n", (result.stdout, result.stderr)
            reqs = rcv.wait_for(1)
            assert len(reqs) == 1
            assert reqs[0]["body"] == body
            assert reqs[0]["json"]["id"] == nid
            assert reqs[0]["headers"]["webhook-id"] == nid
            assert reqs[0]["json"]["subject"] == "via the relay"
            wait_until(lambda: r.journal_rows() == [], 10, "the journal to empty")
        # the delivery process itself sent nothing and spooled nothing
        assert not re.search(r"Notification %s (sent|to)" % nid, d.log()), d.log()[-2000:]


def test_users_resolved_without_a_process_each():
    """The relay resolves each user's drivers from Dovecot's settings read
    once and the userdb asked over its auth-userdb socket: notifications
    for three users cost no doveconf or doveadm process each (strace
    counts the relay's execve() calls; before, every user cost two)."""
    users = ["alice", "bob", "carol"]
    with Receiver() as rcv, \
            Dovecot(users=users, **ours(hook(rcv.url + "/hook"))) as d, \
            relay(d) as r:
        trace = os.path.join(d.tmp, "relay-exec.strace")
        with strace(r, "execve", trace):
            for user in users:
                deliver_session(d, ["for " + user], user=user)
            reqs = rcv.wait_for(3)
        assert sorted(q["json"]["user"] for q in reqs) == users, reqs
        with open(trace) as f:	# programs started (PATH misses aside)
            execs = [line.split('"')[1] for line in f
                     if "execve(" in line and line.rstrip().endswith("= 0")]
        # at most one: doveconf asked for base_dir when the userdb is first used
        assert len(execs) <= 1, execs


def test_redis_handoff_one_message_then_the_stream():
    """A transaction's XADDs go to the relay in one message (journaled as
    XADD records), and the relay adds them to the stream in order."""
    from redistest import RedisServer, stream_entries
    with RedisServer() as rs, \
            Dovecot(**ours({"push_notification_driver":
                            "redis:url=%s stream=mail-events" % rs.url},
                           mail_debug=True)) as d, relay(d) as r:
        imap = d.imap("alice")
        imap.create("A")
        imap.select("INBOX")
        imap.append("INBOX", None, None, make_message(subject="one"))
        imap.append("INBOX", None, None, make_message(subject="two"))
        imap.logout()
        wait_until(lambda: sum(f["event"] == "MessageAppend" for _, f in
                               stream_entries(rs, "mail-events")) >= 2, 20,
                   "both appends in the stream")
        entries = stream_entries(rs, "mail-events")
        # Dovecot 2.4 also reports INBOX's creation on the first APPEND
        got = [(f["event"], json.loads(f["json"])["mailbox"]) for _, f in entries]
        assert [e for e in got if e != ("MailboxCreate", "INBOX")] == [
            ("MailboxCreate", "A"), ("MessageAppend", "INBOX"),
            ("MessageAppend", "INBOX")], entries
        subjects = [json.loads(f["json"]).get("subject") for _, f in entries
                    if f["event"] == "MessageAppend"]
        assert subjects == ["one", "two"], entries
        handed = re.findall(r"Notification (%s) handed to the relay" % ID_RX, d.log())
        ids = [json.loads(f["json"])["id"] for _, f in entries]
        assert sorted(handed) == sorted(ids), (handed, ids)
        assert "XADD" not in d.log() and "spooled" not in d.log()
        wait_until(lambda: r.journal_rows() == [], 10, "the journal to empty")


def test_a_stalled_redis_holds_no_hand_off_back():
    """A Redis server that accepts and never answers (a listener nobody
    accepts on): the relay's XADD batch waits beside its loop (up to 2 s),
    so every delivery is still acknowledged (none falls back) and the
    webhook's notifications leave at once; SIGTERM still stops the relay
    within the batch's bound; the XADDs wait in the journal and reach the
    stream, in order, once a real Redis answers on the port.
    Before, the loop itself waited: acks came late and deliveries fell
    back."""
    from redistest import RedisServer, stream_entries
    mute = socket.socket()
    mute.bind(("127.0.0.1", 0))
    mute.listen(64)
    port = mute.getsockname()[1]
    subjects = ["stalled %d" % i for i in range(5)]
    with Receiver() as rcv, \
            Dovecot(**ours({"push_notification_driver":
                            "http:url=%s/hook events=MessageNew" % rcv.url,
                            "push_notification_driver2":
                            "redis:url=redis://127.0.0.1:%d stream=mail-events "
                            "events=MessageNew" % port},
                           mail_debug=True)) as d, relay(d) as r:
        try:
            for s in subjects:	# one after the other, as a queue runner would
                deliver_session(d, [s])
            delivered = time.monotonic()
            reqs = rcv.wait_for(5)
            received = time.monotonic() - delivered
            assert [q["json"]["subject"] for q in reqs] == subjects, \
                ([q["json"]["subject"] for q in reqs], d.log()[-3000:])
            # the webhook did not wait for the 2 s XADD
            assert received < 1.5, received
            log = d.log()
            assert "is not usable" not in log, log[-3000:]
            handed = re.findall(r"Notification %s handed to the relay" % ID_RX, log)
            assert len(handed) == 10, handed
            # the webhook's are done (the relay has read their answers)
            wait_until(lambda: len(r.journal_rows()) == 5, 10, "only the XADDs to wait")
            # SIGTERM with a batch on its way: the relay waits for it
            # (its bound, 2 s) and stops; the XADDs stay in the journal
            code, secs = r.stop()
            assert code == 0 and secs < 3.0, (code, secs, r.log()[-2000:])
            drivers = [parse_record(row[3])[0]["driver"] for row in r.journal_rows()]
            assert drivers == ["push_notification_driver2"] * 5, drivers
            r.start()
            # the batch times out; its entries wait, none lost
            wait_until(lambda: [row for row in r.journal_rows() if row[2] >= 1], 15,
                       "the XADD batch's first attempt to fail")
            assert len(r.journal_rows()) == 5, r.journal_rows()
        finally:
            mute.close()
        with RedisServer(port=port) as rs:
            result = subprocess.run([PUSHADM, "-c", d.config, "relay", "retry"],
                                    capture_output=True, text=True, timeout=30,
                                    env=r.env())
            assert result.returncode == 0, result.stderr
            wait_until(lambda: len(stream_entries(rs, "mail-events")) >= 5, 20,
                       "the XADDs in the stream")
            got = [json.loads(f["json"])["subject"]
                   for _, f in stream_entries(rs, "mail-events")]
            assert got == subjects, got
        wait_until(lambda: r.journal_rows() == [], 10, "the journal to empty")
        assert "is not usable" not in d.log()


def test_fallback_without_relay_logs_once():
    port = free_port()
    with Receiver(port=port) as rcv, \
            Dovecot(**ours(hook("http://127.0.0.1:%d/hook" % port))) as d:
        deliver_session(d, ["one", "two", "three"])
        reqs = rcv.wait_for(3)
        assert [q["json"]["subject"] for q in reqs] == ["one", "two", "three"]
        lines = [l for l in d.log_lines() if "(push_notification_relay_socket)" in l]
        assert len(lines) == 1, lines
        assert re.search(r"Info: .*The relay at %s \(push_notification_relay_socket\) "
                         r"is not usable: can't connect: No such file or directory; "
                         r"this process sends notifications itself" %
                         re.escape(d.relay_socket), lines[0]), lines[0]


def test_no_relay_socket_no_hand_off_no_log():
    port = free_port()
    with Receiver(port=port) as rcv, \
            Dovecot(**ours(hook("http://127.0.0.1:%d/hook" % port,
                                push_notification_relay_socket=""))) as d:
        deliver_session(d, ["direct"])
        assert rcv.wait_for(1)[0]["json"]["subject"] == "direct"
        assert "relay" not in d.log(), d.log()[-2000:]


def test_relay_that_does_not_answer_falls_back_within_timeout():
    """A socket that accepts and never acknowledges: the delivery waits
    the relay timeout, then sends itself."""
    port = free_port()
    with Receiver(port=port) as rcv, \
            Dovecot(**ours(hook("http://127.0.0.1:%d/hook" % port,
                                push_notification_relay_timeout="300ms"))) as d:
        mute = socket.socket(socket.AF_UNIX)
        mute.bind(d.relay_socket)
        os.chmod(d.relay_socket, 0o666)
        mute.listen(16)
        try:
            start = time.monotonic()
            deliver_session(d, ["muted"])
            elapsed = time.monotonic() - start
            assert rcv.wait_for(1)[0]["json"]["subject"] == "muted"
        finally:
            mute.close()
        line = d.wait_log(r"The relay at .* is not usable")
        assert "no acknowledgement within the relay timeout" in line, line
        assert "Warning" in line, line
        assert elapsed < 5, elapsed


# --- the journal across crashes -------------------------------------------

def test_relay_sigkilled_with_200_journaled_all_arrive():
    port = free_port()
    n = 200
    with Dovecot(**ours(hook("http://127.0.0.1:%d/hook" % port))) as d:
        r = relay(d, ["backoff = 1s", "max_backoff = 2s"])
        with r:
            deliver_session(d, ["m%d" % i for i in range(n)])
            assert len(r.journal_rows()) == n
            code, _ = r.kill()
            assert code == -9
        assert len(r.journal_rows()) == n
        with Receiver(port=port) as rcv, relay(d, conf_path=r.conf) as r2:
            r2.wait_log(r"%d waiting" % n)
            wait_until(lambda: len({q["json"]["id"] for q in rcv.requests}) >= n,
                       60, "%d notifications" % n)
            reqs = list(rcv.requests)
            assert {q["json"]["subject"] for q in reqs} == {"m%d" % i for i in range(n)}
            # a duplicate is a resend of the same notification: same id
            by_subject = {}
            for q in reqs:
                assert by_subject.setdefault(q["json"]["subject"], q["json"]["id"]) == \
                    q["json"]["id"], q["json"]
                assert q["headers"]["webhook-id"] == q["json"]["id"]
            assert len({q["json"]["id"] for q in reqs}) == n
            wait_until(lambda: r2.journal_rows() == [], 20, "the journal to empty")


def test_relay_kill_keeps_journal_and_restart_loads_it():
    """Without the sending queue: what the relay acknowledged is in the
    journal after SIGKILL, and a restarted relay takes it up."""
    port = free_port()
    n = 200
    with Dovecot(**ours(hook("http://127.0.0.1:%d/hook" % port))) as d:
        r = relay(d)
        with r:
            deliver_session(d, ["m%d" % i for i in range(n)])
            assert r.kill()[0] == -9
        assert sorted(journaled_subjects(r)) == sorted("m%d" % i for i in range(n))
        assert not os.path.exists(os.path.join(d.spool_dir, "new")) or \
            os.listdir(os.path.join(d.spool_dir, "new")) == []
        with relay(d, conf_path=r.conf) as r2:
            r2.wait_log(r"journal .*, %d waiting" % n)


def test_a_process_hands_off_to_a_restarted_relay_at_once():
    """One LMTP session (one delivery process, its relay connection kept)
    across a restart of the relay, as a package upgrade does it: the next
    mail finds the connection closed, reconnects and is handed to the new
    relay, with no fallback and no pause."""
    # a loaded machine may keep a new relay's first answer beyond 250 ms:
    # that fallback is not what this test is about
    with Receiver() as rcv, \
            Dovecot(**ours(hook(rcv.url + "/hook", push_notification_relay_timeout="10s"),
                           mail_debug=True)) as d:
        r = relay(d)
        with r, smtplib.LMTP("127.0.0.1", d.lmtp_port, timeout=60) as lmtp:
            lmtp.sendmail("sender@example.org", ["alice"], make_message(subject="one"))
            rcv.wait_for(1)
            # done with it (a request whose answer the relay has not read
            # yet is sent again after the restart, at-least-once)
            wait_until(lambda: r.journal_rows() == [], 10, "the journal to empty")
            assert r.stop()[0] == 0
            with relay(d, conf_path=r.conf):
                lmtp.sendmail("sender@example.org", ["alice"], make_message(subject="two"))
                rcv.wait_for(2)
        assert sorted(q["json"]["subject"] for q in rcv.requests) == ["one", "two"], \
            (rcv.requests, d.log()[-3000:])
        assert len(re.findall(r"handed to the relay", d.log())) == 2, d.log()[-3000:]
        assert "not usable" not in d.log(), d.log()[-3000:]


def test_sigterm_while_mail_arrives_nothing_lost():
    """The relay stopped mid-stream: what it journaled is sent when it is
    back, the deliveries after the stop send themselves; every mail's
    notification arrives, a duplicate only with the same id."""
    port = free_port()
    n = 300
    subjects = ["t%d" % i for i in range(n)]
    with Receiver(port=port) as rcv, \
            Dovecot(**ours(hook("http://127.0.0.1:%d/hook" % port))) as d:
        r = relay(d)
        r.start()
        errors = []

        def feed():
            try:
                deliver_session(d, subjects)
            except Exception as e:	# reported below
                errors.append(e)
        t = threading.Thread(target=feed)
        t.start()
        try:
            wait_until(lambda: len(rcv.requests) >= 5, 30, "5 sent by the relay")
            code, secs = r.stop()
        finally:
            t.join(120)
            r.kill()
        assert not errors, errors
        assert code == 0, (code, r.log())
        print("relay SIGTERM exit: %.3f s" % secs)
        assert secs < 3, secs
        assert "stopping" in r.log()
        assert not r.answers()
        assert not os.path.exists(d.relay_socket)	# it removed its socket
        # deliveries after the stop sent themselves
        assert d.wait_log(r"The relay at .* is not usable")
        with relay(d, conf_path=r.conf):
            wait_until(lambda: {q["json"]["subject"] for q in rcv.requests} >=
                       set(subjects), 60, "every notification")
        reqs = list(rcv.requests)
        assert {q["json"]["subject"] for q in reqs} == set(subjects)
        by_subject = {}
        for q in reqs:
            assert by_subject.setdefault(q["json"]["subject"], q["json"]["id"]) == \
                q["json"]["id"], q["json"]


def test_socket_path_taken_by_a_file_or_a_symlink_is_left_alone():
    """Something that is not a socket where the relay's socket goes (a
    file, or a symlink an attacker planted to another file): the relay
    refuses to start, names the path and the setting, and neither the
    file nor the symlink's target is changed or removed."""
    with Dovecot(**ours(hook("http://127.0.0.1:9/hook"))) as d:
        r = relay(d)
        target = os.path.join(d.tmp, "precious")
        with open(target, "w") as f:
            f.write("keep me\n")
        os.chmod(target, 0o640)
        os.makedirs(os.path.dirname(d.relay_socket), exist_ok=True)
        for make in (lambda: shutil.copy(target, d.relay_socket),
                     lambda: os.symlink(target, d.relay_socket)):
            make()
            before = os.lstat(d.relay_socket)
            start = time.monotonic()
            result = subprocess.run([PUSHADM, "-c", d.config, "relay", "run",
                                     "--config", r.conf], capture_output=True,
                                    text=True, timeout=30, env=r.env())
            assert time.monotonic() - start < 10
            assert result.returncode == 69, (result.returncode, result.stderr)
            assert ("%s exists and is not a socket; remove it or change "
                    "push_notification_relay_socket" % d.relay_socket) in result.stderr, \
                result.stderr
            after = os.lstat(d.relay_socket)
            assert (after.st_ino, after.st_mode) == (before.st_ino, before.st_mode)
            assert open(target).read() == "keep me\n"
            assert os.stat(target).st_mode & 0o7777 == 0o640
            os.unlink(d.relay_socket)
        assert not os.path.exists(r.journal)	# it stopped before its journal


def test_socket_path_too_long_is_named():
    """A relay socket path longer than a unix socket address holds: the
    relay says so, naming the path and the limit, and stops before it
    makes a directory or a journal."""
    base = tempfile.mkdtemp(prefix="pushtest-long-")
    long_path = os.path.join(base, "x" * 120, "relay.sock")
    try:
        with Dovecot(**ours({"push_notification_driver": "http:url=http://127.0.0.1:9/hook",
                             "push_notification_relay_socket": long_path})) as d:
            r = relay(d)
            result = subprocess.run([PUSHADM, "-c", d.config, "relay", "run",
                                     "--config", r.conf], capture_output=True,
                                    text=True, timeout=30, env=r.env())
            assert result.returncode == 69, (result.returncode, result.stderr)
            assert "%s: the path is too long (at most 107 bytes)" % long_path \
                in result.stderr, result.stderr
            assert os.listdir(base) == []
            assert not os.path.exists(r.journal)
    finally:
        shutil.rmtree(base)


def test_second_relay_refuses_to_start():
    with Dovecot(**ours(hook("http://127.0.0.1:9/hook"))) as d, relay(d) as r:
        result = subprocess.run([PUSHADM, "-c", d.config, "relay", "run", "--config",
                                 r.conf], capture_output=True, text=True, timeout=30)
        assert result.returncode == 69, (result.returncode, result.stderr)
        assert "another relay is listening on %s" % d.relay_socket in result.stderr
        assert r.answers() and r.proc.poll() is None


# --- relay.conf -------------------------------------------------------------

def test_relay_conf_bad_value_names_file_line_setting():
    with Dovecot(**ours(hook("http://127.0.0.1:9/hook"))) as d:
        conf = os.path.join(d.relay_dir, "bad.conf")
        with open(conf, "w") as f:
            f.write('# relay settings\njournal = "%s/j.db"\nbackoff = "soon"\n' % d.relay_dir)
        result = subprocess.run([PUSHADM, "-c", d.config, "relay", "run", "--config", conf],
                                capture_output=True, text=True, timeout=30)
        assert result.returncode == 78, (result.returncode, result.stderr)
        assert re.search(r"%s line 3: invalid backoff = \"soon\"" % re.escape(conf),
                         result.stderr), result.stderr
        assert not os.path.exists(d.relay_socket)
        for bad, setting, line in (('sync = "sometimes"', "sync", 1),
                                   ('socket_mode = "0999"', "socket_mode", 1),
                                   ('endpoint_concurrency = 0', "endpoint_concurrency", 1),
                                   ('allowed_uids = {"no-such-user-x"}', "allowed_uids", 1),
                                   ('max_queued_per_user = 0', "max_queued_per_user", 1),
                                   ('max_queued_bytes_per_user = "64X"',
                                    "max_queued_bytes_per_user", 1),
                                   ('max_queued_bytes_per_user = "2048T"',
                                    "max_queued_bytes_per_user", 1),
                                   ('max_queued = 100000001', "max_queued", 1),
                                   ('max_queued_bytes = "1"', "max_queued_bytes", 1),
                                   ('send_first = "51ms"', "send_first", 1),
                                   ('send_first = "soon"', "send_first", 1)):
            with open(conf, "w") as f:
                f.write(bad + "\n")
            result = subprocess.run([PUSHADM, "-c", d.config, "relay", "run", "--config",
                                     conf], capture_output=True, text=True, timeout=30)
            assert result.returncode == 78, (bad, result.stderr)
            assert "%s line %d: invalid %s" % (conf, line, setting) in result.stderr, \
                (bad, result.stderr)
        # an unknown key is refused too, naming it
        with open(conf, "w") as f:
            f.write("\nbackof = 10s\n")
        result = subprocess.run([PUSHADM, "-c", d.config, "relay", "run", "--config", conf],
                                capture_output=True, text=True, timeout=30)
        assert result.returncode == 78 and "line 2" in result.stderr and \
            "backof" in result.stderr, result.stderr


def test_relay_conf_socket_owner_group_mode():
    with Dovecot(**ours(hook("http://127.0.0.1:9/hook"))) as d:
        r = relay(d, ['socket_mode = "0660"  # the group is the mail uid\'s',
                      'socket_group = "%s"' % TEST_USER])
        with r:
            st = os.stat(d.relay_socket)
            assert oct(st.st_mode & 0o777) == oct(0o660)
            assert st.st_uid == 0
            assert st.st_gid == grp.getgrnam(TEST_USER).gr_gid


# --- the socket's trust -----------------------------------------------------

CLIENT = r'''
import socket, struct, sys
rec = (b"PUSHSPOOL 2\nid: 0a6e1f0e-2f8e-4d2b-9d3a-1b2c3d4e5f60\ncreated: 1\n"
       b"attempts: 0\nnext: 1\nuser: alice\ndriver: push_notification_driver\n"
       b"method: POST\nbody: 2\n\n{}")
payload = b"S" + struct.pack(">I", 7) + struct.pack(">I", 1) + struct.pack(">I", len(rec)) + rec
frames = int(sys.argv[2]) if len(sys.argv) > 2 else 1
s = socket.socket(socket.AF_UNIX)
s.settimeout(5)
s.connect(sys.argv[1])
try:
    s.sendall((struct.pack(">I", len(payload)) + payload) * frames)
    data = s.recv(4096)
except OSError as e:
    data = b""
if len(data) >= 14 and data[4:5] == b"A":
    size = 4 + struct.unpack(">I", data[:4])[0]
    print("ACK", data[9], data[14:size].decode(errors="replace"))
    try:
        s.settimeout(3)
        more = data[size:] + s.recv(4096)
        print("THEN MORE" if more else "THEN CLOSED")
    except OSError:
        print("THEN OPEN")
else:
    print("CLOSED")
'''


def run_as(user, *args):
    return subprocess.run(["setpriv", "--reuid=" + user, "--regid=nogroup",
                           "--clear-groups", "--"] + list(args),
                          capture_output=True, text=True, timeout=30)


def test_forged_submission_from_unprivileged_uid_refused():
    port = free_port()
    with Receiver(port=port) as rcv, \
            Dovecot(**ours(hook("http://127.0.0.1:%d/hook" % port))) as d, \
            relay(d) as r:
        result = run_as("nobody", "python3", "-c", CLIENT, d.relay_socket)
        assert result.stdout.strip() == "CLOSED", (result.stdout, result.stderr)
        r.wait_log(r"refused a connection from uid \d+ \(nobody\) pid \d+")
        assert r.journal_rows() == []
        # the relay still serves the mail uid's deliveries
        deliver_session(d, ["after the attack"])
        wait_until(lambda: journaled_subjects(r) == ["after the attack"] or
                   rcv.requests, 20, "the delivery handed off")
        assert r.proc.poll() is None


def test_submission_for_another_users_mail_refused():
    """A uid allowed to connect (relay.conf allowed_uids) but not alice's:
    an error ack naming the uid and the user, a log line, nothing taken.
    Three such messages in one write cost one refusal (one userdb
    lookup): the first is answered, then the connection is closed."""
    with Dovecot(**ours(hook("http://127.0.0.1:9/hook"))) as d, \
            relay(d, ['allowed_uids = {"nobody"}']) as r:
        result = run_as("nobody", "python3", "-c", CLIENT, d.relay_socket, "3")
        out = result.stdout.strip().splitlines()
        assert len(out) == 2 and re.match(
            r"ACK 1 uid \d+ may not submit for user alice: ", out[0]), \
            (out, result.stderr, r.log())
        assert out[1] == "THEN CLOSED", (out, r.log())
        r.wait_log(r"disconnecting uid \d+ \(nobody\) pid \d+: it submitted "
                   r"for a user it may not")
        assert len(re.findall(r"refused a submission from uid \d+ \(nobody\) pid "
                              r"\d+ for user alice", r.log())) == 1, r.log()
        assert r.journal_rows() == []


def test_garbage_and_stalled_peers_cut_off_others_served():
    with Dovecot(**ours(hook("http://127.0.0.1:9/hook"), mail_debug=True)) as d, \
            relay(d, ['client_timeout = 1s']) as r:
        stalled = socket.socket(socket.AF_UNIX)
        stalled.connect(d.relay_socket)
        stalled.sendall(struct.pack(">I", 1000) + b"S")	# and then nothing
        garbage = socket.socket(socket.AF_UNIX)
        garbage.connect(d.relay_socket)
        garbage.sendall(struct.pack(">I", 0x7fffffff) + b"GET / HTTP/1.0\r\n\r\n")
        garbage.settimeout(5)
        assert garbage.recv(100) == b""	# disconnected
        r.wait_log(r"disconnecting uid 0 \(root\) pid \d+: frame length out of bounds")
        # meanwhile a delivery is served at once
        deliver_session(d, ["served"])
        d.wait_log(r"handed to the relay")
        assert journaled_subjects(r) == ["served"]
        r.wait_log(r"disconnecting uid 0 \(root\) pid \d+: it stalled in the middle", 10)
        stalled.settimeout(5)
        assert stalled.recv(100) == b""
        stalled.close()
        garbage.close()


def submit_frame(nid, seq, user="alice", body=b"{}"):
    rec = ("PUSHSPOOL 2\nid: %s\ncreated: 1\nattempts: 0\nnext: 1\nuser: %s\n"
           "driver: push_notification_driver\nmethod: POST\nbody: %d\n\n" %
           (nid, user, len(body))).encode() + body
    payload = b"S" + struct.pack(">II", seq, 1) + struct.pack(">I", len(rec)) + rec
    return struct.pack(">I", len(payload)) + payload


def accepted_count(pid, path):
    """How many connections to the unix socket path pid has accepted."""
    inodes = set()
    with open("/proc/net/unix") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            # connected (state 03), not the listener, named path
            if len(fields) == 8 and fields[5] == "03" and fields[7] == path:
                inodes.add("socket:[%s]" % fields[6])
    fds, count = "/proc/%d/fd" % pid, 0
    for fd in os.listdir(fds):
        try:
            count += os.readlink(os.path.join(fds, fd)) in inodes
        except FileNotFoundError:	# closed meanwhile
            pass
    return count


def stopped(pid):
    """Whether pid is stopped (SIGSTOP has taken effect)."""
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rsplit(") ", 1)[1][0] == "T"


def test_group_commit_one_transaction_for_concurrent_submissions():
    """Three connections submit while the relay is stopped (SIGSTOP): when
    it runs again it journals all three in one transaction, then acks
    each."""
    ids = ["0a6e1f0e-2f8e-4d2b-9d3a-1b2c3d4e5f6%d" % i for i in range(3)]
    with Dovecot(**ours(hook("http://127.0.0.1:9/hook"))) as d, \
            relay(d, conf_lines=["send_first = 0"], debug=True) as r:
        conns = relay_connections(d, 3)
        # accepted before it stops: else the first accept takes one round
        wait_until(lambda: accepted_count(r.proc.pid, d.relay_socket) == 3, 10,
                   "the relay to accept the three connections")
        os.kill(r.proc.pid, signal.SIGSTOP)
        try:
            # a stop is delivered asynchronously: a message sent before it
            # took effect would be read alone (failed once in CI so)
            wait_until(lambda: stopped(r.proc.pid), 10, "the relay to stop")
            for i, c in enumerate(conns):
                c.sendall(submit_frame(ids[i], 40 + i))
        finally:
            os.kill(r.proc.pid, signal.SIGCONT)
        for i, c in enumerate(conns):
            ack = c.recv(4096)
            assert ack[4:5] == b"A" and struct.unpack(">I", ack[5:9])[0] == 40 + i, ack
            assert ack[9] == 0 and struct.unpack(">I", ack[10:14])[0] == 1, ack
            c.close()
        assert "relay: one transaction: 3 notifications of 3 messages" in r.log(), \
            r.log()[-2000:]
        assert sorted(row[0] for row in r.journal_rows()) == ids


def test_a_large_message_then_another_on_one_connection():
    """A delivery process hands over a message larger than the 64 KiB an
    idle connection keeps, then another on the same connection: both are
    acknowledged, and the relay serves everyone else. Before, the second
    read looped for ever (the buffer given back had size 0): a root relay
    any mail process could stop."""
    ids = ["1b6e1f0e-2f8e-4d2b-9d3a-1b2c3d4e5f6%d" % i for i in range(2)]
    with Dovecot(**ours(hook("http://127.0.0.1:9/hook"))) as d, relay(d) as r:
        c = relay_connections(d, 1)[0]
        c.sendall(submit_frame(ids[0], 1, body=b'{"pad":"%s"}' % (b"x" * 100000)))
        for seq in (1, 2):
            ack = c.recv(4096)
            assert ack[4:5] == b"A" and struct.unpack(">I", ack[5:9])[0] == seq, ack
            assert ack[9] == 0, ack
            if seq == 1:
                c.sendall(submit_frame(ids[1], 2))
        c.close()
        # (status 0: both journaled; dated 1970, they expire at once)
        deliver_session(d, ["after"])
        assert "is not usable" not in d.log(), d.log()[-2000:]


def check_acks_after_sync(trace):
    """Reads an strace of the relay: every acknowledgement (a send on a
    relay.sock connection) must come after an fsync of the journal's WAL
    that came after the last message read from that connection. Returns
    (acknowledgements, syncs)."""
    unsynced, acks, syncs = set(), 0, 0
    with open(trace) as f:
        for line in f:
            m = re.search(r"\b(read|sendto|write|fsync|fdatasync)\((\d+)<(.*?)>[,)]", line)
            if m is None:
                continue
            call, fd, what = m.groups()
            if call in ("fsync", "fdatasync"):
                if what.endswith("journal.db-wal"):
                    syncs += 1
                    unsynced.clear()
            elif "relay.sock" not in what:
                continue
            elif call == "read" and not re.search(r"\) = (0|-1)", line):
                unsynced.add(fd)
            elif call in ("sendto", "write"):
                assert fd not in unsynced, "acknowledged before the sync:\n" + line
                acks += 1
    return acks, syncs


def test_every_ack_follows_the_disk_sync_of_its_message():
    """With sync = full (the default) the relay acknowledges a message only
    after the journal's write-ahead log holding it was synced: strace sees,
    for each client, its message read, then an fdatasync() of the WAL, then
    the acknowledgement. 3 connections x 10 messages, shared syncs allowed
    (group commit), every one acknowledged. (send_first = 0: these records,
    dated 1970, would otherwise expire before the journal, kept aside in
    failed/ and acknowledged.)"""
    with Dovecot(**ours(hook("http://127.0.0.1:9/hook"))) as d, \
            relay(d, conf_lines=["send_first = 0"]) as r:
        trace = os.path.join(d.tmp, "relay.strace")
        with strace(r, "read,sendto,write,fsync,fdatasync", trace):
            conns = relay_connections(d, 3)
            seq = 0
            for n in range(10):
                for c in conns:
                    seq += 1
                    c.sendall(submit_frame("0a6e1f0e-2f8e-4d2b-9d3a-%012d" % seq, seq))
                for c in conns:
                    ack = c.recv(4096)
                    assert ack[4:5] == b"A" and ack[9] == 0, ack
            for c in conns:
                c.close()
        acks, syncs = check_acks_after_sync(trace)
    assert acks == 30, acks
    assert 1 <= syncs <= 30, syncs


def test_a_hand_off_its_endpoint_takes_at_once_is_never_journaled():
    """relay.conf send_first: the relay sends a hand-off before journaling
    it, and when the endpoint takes it within send_first it acknowledges
    without writing the journal at all. strace sees no write to the
    journal's WAL and no sync; each notification reached the endpoint
    before its delivery's LMTP reply (the acknowledgement came after the
    endpoint's answer), with the delivery's id and document."""
    with Receiver() as rcv, \
            Dovecot(**ours(hook(rcv.url + "/hook"), mail_debug=True)) as d, \
            relay(d, conf_lines=["send_first = 50ms"], debug=True) as r:
        trace = os.path.join(d.tmp, "relay.strace")
        replies = []
        with strace(r, "write,pwrite64,fsync,fdatasync", trace):
            with smtplib.LMTP("127.0.0.1", d.lmtp_port, timeout=60) as lmtp:
                for n in range(5):
                    assert not lmtp.sendmail("sender@example.org", ["alice"],
                                             make_message(subject="first %d" % n))
                    replies.append(time.time())
            rcv.wait_for(5)
            wait_until(lambda: r.log().count("before the journal; acknowledged") == 5,
                       10, "five acknowledgements without the journal")
        reqs = rcv.requests
        assert [q["json"]["subject"] for q in reqs] == ["first %d" % n for n in range(5)]
        for q, reply in zip(reqs, replies):
            assert q["time"] < reply, (q["time"], reply)
        ids = re.findall(r"Notification (%s) handed to the relay" % ID_RX, d.log())
        assert ids == [q["json"]["id"] for q in reqs], (ids, reqs)
        assert "is not usable" not in d.log() and "spooled" not in d.log(), d.log()[-2000:]
        log = r.log()
        assert log.count("relay: 1 notifications taken by their endpoints before "
                         "the journal; acknowledged") == 5, log[-3000:]
        assert not re.search(r"one transaction: [1-9]", log), log[-3000:]
        with open(trace) as f:
            journal_io = [line for line in f if "journal.db" in line or "sync" in line]
        assert journal_io == [], journal_io[:5]
        assert r.journal_rows() == []


def test_a_slow_endpoints_hand_off_is_journaled_not_waited_for():
    """An endpoint that answers in 1 s: the first hand-off waits send_first
    (an endpoint's first answer is not known), then is journaled and
    acknowledged; once the endpoint is known slow, hand-offs are journaled
    at once. No delivery falls back (the plugin waits 250 ms at most) and
    every notification arrives."""
    with Receiver() as rcv, \
            Dovecot(**ours(hook(rcv.url + "/hook"))) as d, \
            relay(d, conf_lines=["send_first = 50ms"], debug=True) as r:
        rcv.respond(200, delay=1.0)
        deliver_session(d, ["slow 0"])
        r.wait_log(r"one transaction: 1 notifications of 1 messages")
        rcv.wait_for(1)
        wait_until(lambda: r.journal_rows() == [], 10, "the first to be sent")
        start = time.monotonic()
        deliver_session(d, ["slow 1", "slow 2"])
        took = time.monotonic() - start
        rcv.wait_for(3, timeout=20)
        assert sorted(q["json"]["subject"] for q in rcv.requests) == \
            ["slow 0", "slow 1", "slow 2"]
        # journaled at once: not after the endpoint's answer (1 s each)
        assert took < 1.0, took
        log = r.log()
        assert len(re.findall(r"one transaction: 1 notifications of 1 messages",
                              log)) == 3, log[-3000:]
        assert "taken by their endpoints before the journal" not in log, log[-3000:]
        assert "is not usable" not in d.log() and "spooled" not in d.log(), d.log()[-2000:]
        wait_until(lambda: r.journal_rows() == [], 10, "the journal to empty")


def endpoint_back(d, r, port, count):
    """The endpoint on port comes back and `relay retry` makes everything
    due: the sorted subjects of the count notifications it receives."""
    with Receiver(port=port) as rcv:
        result = subprocess.run([PUSHADM, "-c", d.config, "relay", "retry"],
                                capture_output=True, text=True, timeout=30,
                                env=r.env())
        assert result.returncode == 0, result.stderr
        rcv.wait_for(count, timeout=20)
        return sorted(q["json"]["subject"] for q in rcv.requests)


def test_a_user_with_as_many_waiting_as_allowed_is_refused_nothing_lost():
    """relay.conf max_queued_per_user = 3, the endpoint down: the relay
    takes three of alice's notifications, refuses the next two (the
    delivery sends them itself and spools them), and leaves their spool
    files until there is room. The endpoint back: all five arrive."""
    port = free_port()
    with Dovecot(**ours(hook("http://127.0.0.1:%d/hook" % port))) as d, \
            relay(d, ["backoff = 1s", "max_backoff = 2s", "max_queued_per_user = 3"]) as r:
        deliver_session(d, ["m%d" % i for i in range(5)])
        assert len(r.journal_rows()) == 3
        new = os.path.join(d.spool_dir, "new")
        assert len(os.listdir(new)) == 2
        line = d.wait_log(r"refused the notifications")
        assert ("user alice has as many notifications waiting as relay.conf "
                "max_queued_per_user allows") in line, line
        r.wait_log(r"not taking notifications for user alice from uid \d+ "
                   r"\(\S+\) pid \d+: as many wait for the user as relay.conf "
                   r"max_queued_per_user allows \(0 more")
        # the takeover leaves them while alice's queue is full
        time.sleep(2.5)
        assert len(os.listdir(new)) == 2 and len(r.journal_rows()) == 3
        assert endpoint_back(d, r, port, 5) == ["m%d" % i for i in range(5)]
        assert os.listdir(new) == []


def test_as_many_waiting_as_the_relay_allows_refused_nothing_lost():
    """relay.conf max_queued = 3 (every user's together), the endpoint
    down: two of alice's and one of bob's are taken, bob's second is
    refused naming the setting (his delivery sends it itself and spools
    it). The endpoint back: all four arrive."""
    port = free_port()
    with Dovecot(**ours(hook("http://127.0.0.1:%d/hook" % port))) as d, \
            relay(d, ["backoff = 1s", "max_backoff = 2s", "max_queued = 3"]) as r:
        deliver_session(d, ["a0", "a1"])
        deliver_session(d, ["b0", "b1"], user="bob")
        assert sorted(row[1] for row in r.journal_rows()) == ["alice", "alice", "bob"]
        assert len(os.listdir(os.path.join(d.spool_dir, "new"))) == 1
        line = d.wait_log(r"refused the notifications")
        assert "bob" in line and ("the relay has as many notifications waiting as "
                                  "relay.conf max_queued allows") in line, line
        r.wait_log(r"not taking notifications for user bob from uid \d+ \(\S+\) pid "
                   r"\d+: as many wait in all as relay.conf max_queued allows")
        assert endpoint_back(d, r, port, 4) == ["a0", "a1", "b0", "b1"]


def test_a_transaction_of_more_than_one_message_is_handed_off_in_several():
    """Marking 1500 messages read is one transaction of 1500 FlagsSet
    notifications, more than one relay message may carry (1000): the IMAP
    process hands them over in messages of 256, and every one arrives
    once. Before, the whole transaction fell back to the IMAP process."""
    count = 1500
    with Receiver() as real, \
            Dovecot(**ours(hook(real.url + "/hook", "events=FlagsSet"),
                           mail_debug=True)) as d, relay(d, debug=True) as r:
        deliver_session(d, ["m%d" % i for i in range(count)])
        imap = d.imap("alice")
        imap.select("INBOX")
        imap.store("1:*", "+FLAGS", r"(\Seen)")
        imap.logout()
        reqs = real.wait_for(count, timeout=60)
        assert sorted(q["json"]["uid"] for q in reqs) == list(range(1, count + 1))
        assert len(re.findall(r"handed to the relay", d.log())) == count
        assert ": Error: " not in d.log() and "not usable" not in d.log(), d.log()[-2000:]
        assert re.findall(r"one transaction: (\d+) notifications of 1 messages",
                          r.log()) == ["256"] * 5 + ["220"], r.log()[-3000:]
        time.sleep(1)
        assert len(real.requests) == count


def spool_file(new, nid, created, user="alice"):
    """A file in new/ as a delivery process leaves it when the relay does
    not answer (written aside, then renamed in)."""
    body = b'{"subject":"spooled"}'
    rec = ("PUSHSPOOL 2\nid: %s\ncreated: %d\nattempts: 0\nnext: 1\nuser: %s\n"
           "driver: push_notification_driver\nmethod: POST\nbody: %d\n\n" %
           (nid, created, user, len(body))).encode() + body
    name = "%016d-%s.spool" % (created, nid)
    tmp = os.path.join(os.path.dirname(new), "tmp", name)
    with open(tmp, "wb") as f:
        f.write(rec)
    os.rename(tmp, os.path.join(new, name))


def test_a_spool_of_many_files_is_read_once_per_pass():
    """640 spooled files (ten slices of 64) are taken over with the
    directory read once for the pass, not once per slice: with 10000
    files the reading and sorting of every name per slice made the
    takeover's CPU time grow with the square of the files (0.73 s for
    2000, 6.5 s for 10000) and held the loop ~40 ms a slice. Every file
    is journaled once."""
    count = 640
    with Dovecot(**ours(hook("http://127.0.0.1:9/hook"))) as d, relay(d) as r:
        new = os.path.join(d.spool_dir, "new")
        trace = os.path.join(d.tmp, "takeover.strace")
        with strace(r, "openat", trace):
            os.kill(r.proc.pid, signal.SIGSTOP)
            try:
                base = int(time.time() * 1e6) - 10 ** 7
                for i in range(count):
                    spool_file(new, "0a6e1f0e-2f8e-4d2b-9d3a-%012d" % i, base + i)
            finally:
                os.kill(r.proc.pid, signal.SIGCONT)
            wait_until(lambda: os.listdir(new) == [], 60, "the takeover")
        reads = [l for l in open(trace) if re.search(r'spool/new>, "\.", ', l)]
        assert 1 <= len(reads) <= 3, "".join(reads)
        assert len(r.journal_rows()) == count
        assert "quarantine" not in r.log() and "Error" not in r.log(), r.log()[-2000:]


# --- relay retry, spool run ----------------------------------------------

def test_relay_retry_running_and_stopped():
    with Dovecot(**ours(hook("http://127.0.0.1:9/hook"))) as d:
        r = relay(d)
        with r:
            deliver_session(d, ["a", "b"])
            result = subprocess.run([PUSHADM, "-c", d.config, "relay", "retry"],
                                    capture_output=True, text=True, timeout=30, env=r.env())
            assert result.returncode == 0, result.stderr
            assert re.fullmatch(r"\d+ entries due now\n", result.stdout), result.stdout
            nid = r.journal_rows()[0][0]
            result = subprocess.run([PUSHADM, "-c", d.config, "relay", "retry", nid],
                                    capture_output=True, text=True, timeout=30, env=r.env())
            assert result.stdout == "1 entries due now\n", result.stdout
            result = subprocess.run([PUSHADM, "-c", d.config, "relay", "retry", "../x"],
                                    capture_output=True, text=True, timeout=30, env=r.env())
            assert result.returncode == 64 and "not a notification id" in result.stderr
        # stopped: the journal itself
        result = subprocess.run([PUSHADM, "-c", d.config, "relay", "retry"],
                                capture_output=True, text=True, timeout=30, env=r.env())
        assert result.returncode == 0, result.stderr
        assert result.stdout == ("2 entries due now (the relay is not running; "
                                 "it sends them when it starts)\n"), result.stdout


def test_spool_run_is_an_alias_saying_so():
    with Dovecot(**ours(hook("http://127.0.0.1:9/hook"))) as d:
        r = relay(d)
        with open(r.log_path, "w") as log:
            proc = subprocess.Popen([PUSHADM, "-c", d.config, "spool", "run"],
                                    stdout=log, stderr=log, env=r.env())
        try:
            wait_until(r.answers, 20, "the relay's socket")
        finally:
            proc.terminate()
            assert proc.wait(timeout=10) == 0
        assert "'spool run' is deprecated and runs 'pushadm relay run'" in r.log()


def test_two_drivers_of_one_event_both_relayed():
    """Every driver's notification of one event carries the event's id:
    the journal keeps them apart by id and driver, so both endpoints get
    theirs (the first journal keyed rows by id alone and dropped the
    second driver's)."""
    with Receiver() as first, Receiver() as second:
        plugin = hook(first.url + "/one")
        plugin["push_notification_driver2"] = "http:url=%s/two events=MessageNew" % second.url
        with Dovecot(**ours(plugin, mail_debug=True)) as d, relay(d) as r:
            deliver_session(d, ["two drivers"])
            one, two = first.wait_for(1), second.wait_for(1)
            time.sleep(0.5)	# nothing more may come
            assert (len(first.requests), len(second.requests)) == (1, 1)
            assert one[0]["path"] == "/one" and two[0]["path"] == "/two"
            assert one[0]["json"]["id"] == two[0]["json"]["id"]
            assert one[0]["json"]["subject"] == two[0]["json"]["subject"] == "two drivers"
            # delivered through the relay, not by the delivery itself
            assert len(re.findall(r"handed to the relay", d.log())) == 2, d.log()[-2000:]
            wait_until(lambda: r.journal_rows() == [], 10, "an empty journal")


def damage_journal_leaf(path):
    """Overwrites the middle leaf page (in key order) of the entries'
    table; returns the ids before it, which SQLite still reads. The table
    is a b-tree of its key (WITHOUT ROWID): each interior page holds one
    entry between each two of its children (dbstat's paths /000/001/...)."""
    import sqlite3
    db = sqlite3.connect(path)
    page_size = db.execute("PRAGMA page_size").fetchone()[0]
    pages = {row[0]: row[1:] for row in db.execute(
        "SELECT path, pageno, pagetype, ncell FROM dbstat WHERE name = 'entries' "
        "AND pagetype IN ('internal', 'leaf')")}

    def in_order(p):	# (leaf page or None, entries) in key order
        pageno, kind, ncell = pages[p]
        if kind == "leaf":
            yield (pageno, ncell)
            return
        for i in range(ncell + 1):
            yield from in_order("%s%03x/" % (p, i))
            if i < ncell:
                yield (None, 1)
    order = list(in_order("/"))
    leaves = [i for i, (pageno, _) in enumerate(order) if pageno is not None]
    assert len(leaves) >= 3, pages
    target = leaves[len(leaves) // 2]
    before = sum(n for _, n in order[:target])
    ids = [row[0] for row in db.execute("SELECT id FROM entries ORDER BY id, driver "
                                        "LIMIT ?", (before,))]
    db.close()
    with open(path, "r+b") as f:
        f.seek((order[target][0] - 1) * page_size)
        f.write(b"\xa5" * page_size)
    return ids


def start_on_damaged_journal(r):
    """Starts the relay; returns the count its log line says it kept and
    the file it set aside."""
    since = len(r.log())
    r.start()
    m = re.search(r"the journal %s is damaged \((.*)\): moved aside to (\S+); "
                  r"(\d+) of its notifications could still be read" %
                  re.escape(r.journal), r.log()[since:])
    assert m, r.log()[since:]
    assert "Error" in r.log()[since:].split("damaged")[0].splitlines()[-1]
    return int(m.group(3)), m.group(2), m.group(1)


def test_a_damaged_journal_is_set_aside_and_what_can_be_read_kept():
    """A journal damaged on disk (a page overwritten): the relay does not
    stay down (every retry would wait for an administrator); it moves the
    file aside, keeps the entries SQLite can still read in a new journal,
    sends them, and serves new mail."""
    port = free_port()
    subjects = ["kept %02d" % i for i in range(60)]
    with Dovecot(**ours(hook("http://127.0.0.1:%d/hook" % port))) as d, \
            relay(d) as r:
        deliver_session(d, subjects)
        wait_until(lambda: len(r.journal_rows()) == 60, 10, "60 journaled")
        code, _ = r.stop()
        assert code == 0
        readable = damage_journal_leaf(r.journal)
        assert 0 < len(readable) < 60, len(readable)
        damaged = open(r.journal, "rb").read()
        kept, aside, why = start_on_damaged_journal(r)
        assert kept == len(readable), (kept, len(readable), r.log()[-1500:])
        assert "corrupt" in why or "malformed" in why or "check" in why, why
        # the damaged file, as it was, for the administrator
        assert aside.startswith(r.journal + ".damaged-")
        assert open(aside, "rb").read() == damaged
        assert sorted(row[0] for row in r.journal_rows()) == sorted(readable)
        with Receiver(port=port) as rcv:
            subprocess.run([PUSHADM, "-c", d.config, "relay", "retry"], check=True,
                           capture_output=True, timeout=30, env=r.env())
            reqs = rcv.wait_for(kept)
            assert sorted(q["json"]["id"] for q in reqs) == sorted(readable)
            wait_until(lambda: r.journal_rows() == [], 10, "the journal to empty")
            deliver_session(d, ["after the damage"])
            assert rcv.wait_for(kept + 1)[-1]["json"]["subject"] == "after the damage"


def test_a_journal_that_is_not_a_database_is_set_aside():
    with Receiver() as rcv, Dovecot(**ours(hook(rcv.url + "/hook"))) as d, \
            relay(d) as r:
        deliver_session(d, ["before"])
        rcv.wait_for(1)
        r.stop()
        with open(r.journal, "r+b") as f:
            f.write(b"not a journal" * 10)
        kept, aside, why = start_on_damaged_journal(r)
        assert (kept, why) == (0, "journal %s: file is not a database" % r.journal), \
            (kept, why)
        assert open(aside, "rb").read(13) == b"not a journal"
        deliver_session(d, ["after"])
        assert rcv.wait_for(2)[-1]["json"]["subject"] == "after"
        assert "is not usable" not in d.log(), d.log()[-2000:]


def test_a_full_disk_under_the_journal_falls_back_and_recovers():
    """The relay's journal is on a file system with no room left: the
    hand-off is answered with a refusal naming the journal, the delivery
    sends its notification itself, the relay logs the cause and keeps
    serving; once there is room, the next delivery is handed off again.
    Every notification arrives once. (send_first = 0: else the endpoint,
    which answers at once, takes each hand-off before the journal is
    needed, and a full disk costs nothing.)"""
    with Receiver() as real, \
            Dovecot(**ours(hook(real.url + "/hook"), mail_debug=True)) as d:
        fs = os.path.join(d.tmp, "journal-fs")
        os.makedirs(fs)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k,mode=0700", "tmpfs", fs],
                       check=True)
        try:
            conf = os.path.join(d.tmp, "relay-on-a-small-fs.conf")
            with open(conf, "w") as f:
                f.write('journal = "%s"\nsend_first = 0\n' % os.path.join(fs, "journal.db"))
            with relay(d, conf_path=conf) as r:
                deliver_session(d, ["before"])
                real.wait_for(1)
                filler = os.open(os.path.join(fs, "filler"), os.O_WRONLY | os.O_CREAT, 0o600)
                try:
                    for _ in range(1024):	# 512k in 4k blocks, and then some
                        os.write(filler, b"x" * 4096)
                except OSError as e:
                    assert e.errno == errno.ENOSPC, e
                finally:
                    os.close(filler)
                deliver_session(d, ["full"])
                line = d.wait_log(r"refused the notifications: the relay's journal failed")
                assert ": Error: " in line, line
                r.wait_log(r"relay: journal [^:]*: database or disk is full; 1 messages "
                           r"not accepted \(their senders send them themselves; 0 more "
                           r"failed commits since the last such line\)")
                # a full disk fails every commit: one line per 10 s, not one each
                deliver_session(d, ["full again", "and again"])
                real.wait_for(4)
                assert len(re.findall("disk is full", r.log())) == 1, r.log()
                os.unlink(os.path.join(fs, "filler"))
                deliver_session(d, ["after"])
                real.wait_for(5)
                assert r.proc.poll() is None
            assert sorted(q["json"]["subject"] for q in real.requests) == \
                ["after", "and again", "before", "full", "full again"]
            assert len(re.findall(r"handed to the relay", d.log())) == 2, d.log()[-3000:]
        finally:
            subprocess.run(["umount", fs], check=True)
