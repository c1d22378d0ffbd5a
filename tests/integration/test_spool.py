"""Never lose a notification, never stall delivery: the spool, the
dispatcher (pushadm spool run) and the faults they must survive."""
import json
import os
import re
import signal
import stat
import subprocess
import time

from built import PUSHADM, ours, relay
from pushtest import Dovecot, Receiver, free_port, make_message, plugin_conf, wait_until


def hook(url, options=""):
    return {"push_notification_driver": ("http:url=%s %s" % (url, options)).strip()}


def spooled(d, area="new"):
    path = os.path.join(d.spool_dir, area)
    return sorted(os.listdir(path)) if os.path.isdir(path) else []


def pushadm(d, *args, check=True):
    result = subprocess.run([PUSHADM, "-c", d.config] + list(args),
                            capture_output=True, text=True, timeout=120)
    if check and result.returncode not in (0,):
        raise AssertionError("pushadm %s: exit %d\n%s%s" % (
            args, result.returncode, result.stdout, result.stderr))
    return result


def deliver(d, n, user="alice"):
    for i in range(n):
        d.lmtp_deliver([user], make_message(subject="mail %d" % i))


def ids_in_spool(d, area="new"):
    return [name.split("-", 1)[1][:-len(".spool")] for name in spooled(d, area)]


def test_endpoint_down_then_up_nothing_lost():
    port = free_port()
    with Dovecot(**ours(hook("http://127.0.0.1:%d/hook" % port,
                             "events=MessageNew"))) as d:
        deliver(d, 5)
        ids = ids_in_spool(d)
        assert len(ids) == 5, spooled(d)
        for name in spooled(d):
            mode = os.stat(os.path.join(d.spool_dir, "new", name)).st_mode
            assert stat.S_IMODE(mode) == 0o600, oct(mode)
        # Dovecot's log process writes the lines after the files exist
        wait_until(lambda: len([l for l in d.log_lines()
                                if "spooled; the dispatcher" in l]) == 5,
                   10, "five 'spooled' log lines")
        assert len([l for l in d.log_lines() if "spooled; the dispatcher" in l]) == 5
        imap = d.imap("alice")
        assert int(imap.select("INBOX")[1][0]) == 5
        imap.logout()
        # the endpoint comes back on the same port
        with Receiver(port=port) as r:
            pushadm(d, "spool", "run", "--once")
            reqs = r.wait_for(5)
            got = [q["json"]["id"] for q in reqs]
            assert got == ids, (got, ids)	# each once, in the order they happened
            assert [q["json"]["subject"] for q in reqs] == ["mail %d" % i for i in range(5)]
            assert [q["headers"]["webhook-id"] for q in reqs] == ids
        assert spooled(d) == []


def test_dispatcher_killed_mid_send_loses_nothing():
    """spool run is the relay now (an alias): it takes the spooled files
    into its journal, and a SIGKILL mid-send loses nothing."""
    port = free_port()
    with Dovecot(**ours(hook("http://127.0.0.1:%d/hook" % port,
                             "events=MessageNew timeout_msecs=60000"))) as d:
        deliver(d, 3)
        ids = ids_in_spool(d)
        assert len(ids) == 3
        r = relay(d)
        with Receiver(port=port) as rcv:
            rcv.script([{"hang": True}])
            with open(r.log_path, "w") as log:
                proc = subprocess.Popen([PUSHADM, "-c", d.config, "spool", "run"],
                                        stdout=log, stderr=log, env=r.env())
            try:
                rcv.wait_for(1)	# the first is being sent when the relay dies
            finally:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
            assert spooled(d) == []	# taken into the journal
            with relay(d, conf_path=r.conf):
                reqs = rcv.wait_for(4)
            got = [q["json"]["id"] for q in reqs]
            # the interrupted one again (same id: a receiver drops it), then the rest
            assert got == [ids[0]] + ids, got
        assert spooled(d) == []


def test_spool_unwritable_or_full_mail_still_delivered():
    port = free_port()
    with Dovecot(**ours(hook("http://127.0.0.1:%d/hook" % port, "events=MessageNew"))) as d:
        # a spool the delivery user may not write to
        os.chown(d.spool_dir, 0, 0)
        os.chmod(d.spool_dir, 0o755)
        deliver(d, 1)
        line = d.wait_log(r"LOST")
        assert re.search(r"push_notification_driver \(http\): Notification [0-9a-f-]{36} "
                         r"to http://127\.0\.0\.1:\d+/hook failed: .*; (mkdir|writing spool "
                         r"file).*Permission denied - the notification is LOST", line), line
        # a full file system
        full = os.path.join(d.tmp, "full")
        os.makedirs(full)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8k,uid=%d" %
                        os.stat(os.path.join(d.tmp, "home")).st_uid, "tmpfs", full], check=True)
        try:
            with open(os.path.join(full, "filler"), "wb") as f:
                try:
                    f.write(b"x" * 16384)
                except OSError:
                    pass
            d.stop()
            with open(d.config, "a") as f:
                f.write(plugin_conf({"push_notification_spool_dir": full}))
            d.start()
            deliver(d, 1)
            wait_until(lambda: len([l for l in d.log_lines() if "LOST" in l]) == 2, 10,
                       "second LOST line")
            line = [l for l in d.log_lines() if "LOST" in l][1]
            assert "No space left on device" in line, line
        finally:
            subprocess.run(["umount", full], check=True)
        imap = d.imap("alice")
        assert int(imap.select("INBOX")[1][0]) == 2
        imap.logout()


def test_corrupt_spool_file_is_quarantined():
    port = free_port()
    with Dovecot(**ours(hook("http://127.0.0.1:%d/hook" % port, "events=MessageNew"))) as d:
        deliver(d, 2)
        bad = "0000000000000001-00000000-0000-4000-8000-000000000001.spool"
        with open(os.path.join(d.spool_dir, "new", bad), "w") as f:
            f.write("PUSHSPOOL 2\nid: nonsense\n")
        with Receiver(port=port) as r:
            result = pushadm(d, "spool", "run", "--once")
            assert len(r.wait_for(2)) == 2
            assert re.search(re.escape(bad) + r" is refused \(invalid field 'id'\); "
                             r"moved to .*/quarantine/", result.stderr), result.stderr
        assert spooled(d) == [] and spooled(d, "quarantine") == [bad]


def test_hanging_endpoint_delivery_returns_and_spools():
    with Receiver() as r:
        r.script([{"hang": True}] * 10)
        with Dovecot(**ours(dict(hook(r.url + "/hook", "events=MessageNew timeout_msecs=60000"),
                                 push_notification_max_delay="1s"))) as d:
            for _ in range(3):
                start = time.monotonic()
                d.lmtp_deliver(["alice"], make_message())
                # bounded by max_delay (1 s), not by the driver's 60 s
                # timeout (the slack is for a loaded machine)
                took = time.monotonic() - start
                assert 0.9 <= took < 1 + 3, took
            assert len(ids_in_spool(d)) == 3
            assert len([l for l in d.log_lines()
                        if "time for notifications ran out" in l]) == 3


def test_spool_only_mode_never_waits():
    port = free_port()
    with Dovecot(**ours(dict(hook("http://127.0.0.1:%d/hook" % port, "events=MessageNew"),
                             push_notification_spool_only="yes"))) as d:
        with Receiver(port=port) as r:
            deliver(d, 2)
            assert r.requests == []		# nothing sent by the delivery
            assert len(ids_in_spool(d)) == 2
            assert [l for l in d.log_lines() if "Error" in l] == []
            pushadm(d, "spool", "run", "--once")
            assert len(r.wait_for(2)) == 2


def test_permanent_failure_kept_aside_and_retry():
    with Receiver() as r:
        r.respond(status=404)
        with Dovecot(**ours(hook(r.url + "/hook", "events=MessageNew"))) as d:
            deliver(d, 1)
            assert spooled(d) == [] and len(spooled(d, "failed")) == 1
            assert "kept in the spool's failed area" in d.wait_log(r"HTTP 404")
            out = pushadm(d, "-f", "tab", "spool", "list", "--failed").stdout.splitlines()
            assert out[0].split("\t") == ["ID", "Created", "User", "Driver", "Attempts",
                                          "Next attempt", "Last error"]
            row = out[1].split("\t")
            assert row[2:5] == ["alice", "push_notification_driver", "1"]
            assert row[6] == "HTTP 404"
            r.respond(status=200)
            pushadm(d, "spool", "retry", "--failed")
            pushadm(d, "spool", "run", "--once")
            assert len(r.wait_for(2)) == 2 and spooled(d, "failed") == []


def test_spool_list_writes_out_control_characters_of_a_kept_error():
    # a kept error can quote an endpoint (a Redis error reply) and a spool
    # file is anyone's who can write the spool: no escape sequence or line
    # break of it reaches the administrator's terminal
    with Receiver() as r:
        r.respond(status=404)
        with Dovecot(**ours(hook(r.url + "/hook", "events=MessageNew"))) as d:
            deliver(d, 1)
            d.wait_log(r"HTTP 404")
            name = spooled(d, "failed")[0]
            path = os.path.join(d.spool_dir, "failed", name)
            with open(path, "rb") as f:
                data = f.read()
            data = data.replace(b"last_error: HTTP 404",
                                b"last_error: -ERR \x1b[2J\x1b]0;owned\x07\rforged")
            with open(path, "wb") as f:
                f.write(data)
            out = pushadm(d, "spool", "list", "--failed").stdout
            assert "\x1b" not in out and "\x07" not in out and "\r" not in out, repr(out)
            assert "-ERR \\x1b[2J\\x1b]0;owned\\x07\\x0dforged" in out, out


def test_retry_after_and_per_user_order():
    with Receiver() as r:
        r.respond(status=503, headers={"Retry-After": "3600"})
        with Dovecot(**ours(hook(r.url + "/hook", "events=MessageNew max_retries=0"))) as d:
            deliver(d, 2)		# both spooled
            assert len(ids_in_spool(d)) == 2
            n = len(r.requests)
            result = pushadm(d, "spool", "run", "--once", check=False)
            # both entries of alice are waiting for the first one's Retry-After
            assert result.returncode == 0 and len(r.requests) == n, result.stderr
            r.respond(status=503)
            pushadm(d, "spool", "retry")
            result = pushadm(d, "spool", "run", "--once", "--backoff", "1h", check=False)
            assert result.returncode == 75, result.returncode
            # only the first of alice's entries was tried: order is kept
            assert len(r.requests) == n + 1
            first = json.loads(r.requests[-1]["body"])["id"]
            assert first == ids_in_spool(d)[0]
            out = pushadm(d, "-f", "flow", "spool", "list").stdout
            assert "attempts=2" in out and "error=HTTP 503" in out, out


def test_spool_show_hides_credentials():
    port = free_port()
    with Dovecot(**ours(hook("http://user:hunter2@127.0.0.1:%d/hook" % port,
                             "events=MessageNew"))) as d:
        deliver(d, 1)
        [entry] = ids_in_spool(d)
        out = pushadm(d, "spool", "show", entry).stdout
        assert "hunter2" not in out and "#hidden_use-P_to_show#" in out, out
        assert "request: POST http://#hidden_use-P_to_show#@127.0.0.1" in out, out
        assert "hunter2" in pushadm(d, "-P", "spool", "show", entry).stdout
        assert "hunter2" not in d.log()


def test_resent_webhook_gets_fresh_timestamp_and_signature():
    import base64
    import hashlib
    import hmac
    import tempfile
    import time
    key = b"rotating-secret"
    with tempfile.NamedTemporaryFile("w", suffix=".secret", dir="/tmp") as secret:
        secret.write(key.decode() + "\n")
        secret.flush()
        os.chmod(secret.name, 0o644)
        port = free_port()
        with Dovecot(**ours(hook("http://127.0.0.1:%d/hook" % port,
                                 "events=MessageNew secret_file=" + secret.name))) as d:
            deliver(d, 1)
            [name] = spooled(d)
            path = os.path.join(d.spool_dir, "new", name)
            # as if it had waited in the spool since 2001
            text = open(path, "rb").read()
            text = re.sub(rb"webhook-timestamp: \d+", b"webhook-timestamp: 1000000000", text)
            open(path, "wb").write(text)
            with Receiver(port=port) as r:
                pushadm(d, "spool", "run", "--once")
                req = r.wait_for(1)[0]
            h = req["headers"]
            ts = int(h["webhook-timestamp"])
            assert abs(ts - time.time()) < 300, ts
            signed = b"%s.%d.%s" % (h["webhook-id"].encode(), ts, req["body"])
            want = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
            assert h["webhook-signature"] == want
