"""The relay's queue figures: `pushadm relay stats` over the stats socket and
OpenMetrics text on relay.conf's metrics_listen (loopback TCP or a unix
socket), read by a real scrape after a known sequence of sends and
failures. docs/spool.md "Queue figures"."""
import grp
import json
import os
import re
import smtplib
import socket
import subprocess
import time
import urllib.error
import urllib.request

from built import PUSHADM, ours, relay
from pushtest import Dovecot, Receiver, TEST_USER, free_port, make_message, wait_until

OPENMETRICS_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"


def deliver_session(d, subjects, user="alice"):
    """Many mails in ONE LMTP session: one delivery process, in order."""
    with smtplib.LMTP("127.0.0.1", d.lmtp_port, timeout=60) as lmtp:
        for s in subjects:
            refused = lmtp.sendmail("sender@example.org", [user], make_message(subject=s))
            assert not refused, refused


def scrape(port, path="/metrics"):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=10) as resp:
        return resp.status, resp.headers["Content-Type"], resp.read().decode()


def unix_get(path, request=b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"):
    """A raw HTTP exchange over a unix socket: (status line, headers, body)."""
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(10)
        s.connect(path)
        s.sendall(request)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.decode().partition("\r\n\r\n")
    lines = head.split("\r\n")
    return lines[0], dict(l.split(": ", 1) for l in lines[1:]), body


AGE_RX = re.compile(r"^(push_notify_relay(?:_endpoint)?_oldest_age_seconds(?:\{[^}]*\})?) "
                    r"(\d+\.\d{3})$", re.M)


def ages(text):
    return {m.group(1): float(m.group(2)) for m in AGE_RX.finditer(text)}


def masked(text):
    """The text with the ages (which depend on the clock) masked."""
    return AGE_RX.sub(r"\1 AGE", text)


def expected_metrics(ok_ep, down_ep):
    def sends(ep, sent, retry, failed, expired):
        return "".join('push_notify_relay_sends_total{method="POST",endpoint="%s",'
                       'result="%s"} %d\n' % (ep, result, n) for result, n in
                       (("sent", sent), ("retry", retry), ("failed", failed),
                        ("expired", expired)))
    eps = sorted([ok_ep, down_ep])
    queued = {ok_ep: 0, down_ep: 3}
    counts = {ok_ep: (2, 0, 1, 0), down_ep: (0, 1, 0, 0)}
    return (
        "# TYPE push_notify_relay_queued gauge\n"
        "# HELP push_notify_relay_queued Notifications the relay holds: journaled, not sent yet.\n"
        "push_notify_relay_queued 3\n"
        "# TYPE push_notify_relay_in_flight gauge\n"
        "# HELP push_notify_relay_in_flight Requests the relay has on the wire.\n"
        "push_notify_relay_in_flight 0\n"
        "# TYPE push_notify_relay_oldest_age_seconds gauge\n"
        "# UNIT push_notify_relay_oldest_age_seconds seconds\n"
        "# HELP push_notify_relay_oldest_age_seconds Age of the oldest notification the relay holds (0: none).\n"
        "push_notify_relay_oldest_age_seconds AGE\n"
        "# TYPE push_notify_relay_endpoint_queued gauge\n"
        "# HELP push_notify_relay_endpoint_queued Notifications waiting for this endpoint.\n" +
        "".join('push_notify_relay_endpoint_queued{method="POST",endpoint="%s"} %d\n'
                % (ep, queued[ep]) for ep in eps) +
        "# TYPE push_notify_relay_endpoint_oldest_age_seconds gauge\n"
        "# UNIT push_notify_relay_endpoint_oldest_age_seconds seconds\n"
        "# HELP push_notify_relay_endpoint_oldest_age_seconds Age of the oldest notification waiting for this endpoint (0: none).\n" +
        "".join('push_notify_relay_endpoint_oldest_age_seconds{method="POST",endpoint="%s"} AGE\n'
                % ep for ep in eps) +
        "# TYPE push_notify_relay_sends counter\n"
        "# HELP push_notify_relay_sends Attempts since the relay started, by result: sent, "
        "retry (failed, tried again later), failed (for good, kept aside), expired "
        "(max_age passed, kept aside).\n" +
        "".join(sends(ep, *counts[ep]) for ep in eps) +
        "# EOF\n")


def test_queue_figures_after_known_sends_and_failures():
    """One endpoint takes two notifications and refuses the third for good
    (400); another answers 503, so its first attempt waits for a retry (an
    hour away) with the user's two later notifications queued behind it."""
    metrics_port = free_port()
    with Receiver() as ok, Receiver() as down:
        ok.script([{"status": 200}, {"status": 200}, {"status": 400}])
        down.respond(503)
        plugin = {"push_notification_driver": "http:url=%s/ok events=MessageNew" % ok.url,
                  "push_notification_driver2": "http:url=%s/down events=MessageNew" % down.url}
        with Dovecot(**ours(plugin)) as d, \
                relay(d, ['metrics_listen = "127.0.0.1:%d"' % metrics_port,
                          'backoff = 1h']) as r:
            r.wait_log(r"queue figures \(OpenMetrics\) on http://127\.0\.0\.1:%d/metrics"
                       % metrics_port)
            # before anything: all zero, no endpoint
            status, ctype, text = scrape(metrics_port)
            assert (status, ctype) == (200, OPENMETRICS_TYPE)
            assert "push_notify_relay_queued 0\n" in text and "endpoint=" not in text, text
            assert ages(text) == {"push_notify_relay_oldest_age_seconds": 0.0}, text
            start = time.time()
            deliver_session(d, ["one", "two", "three"])
            ok.wait_for(3, timeout=20)
            down.wait_for(1, timeout=20)
            ok_ep, down_ep = ok.url + "/ok", down.url + "/down"
            want = expected_metrics(ok_ep, down_ep)
            # the relay counts an outcome once the response is in
            try:
                wait_until(lambda: masked(scrape(metrics_port)[2]) == want, 10,
                           "the figures")
            except AssertionError:
                raise AssertionError(scrape(metrics_port)[2])
            time.sleep(1.5)	# nothing more happens: an hour's backoff
            status, ctype, text = scrape(metrics_port)
            elapsed = time.time() - start
            assert masked(text) == want, text
            a = ages(text)
            oldest = a["push_notify_relay_oldest_age_seconds"]
            assert 1.5 <= oldest <= elapsed, (oldest, elapsed)
            assert a['push_notify_relay_endpoint_oldest_age_seconds{method="POST",endpoint="%s"}'
                     % down_ep] == oldest
            assert a['push_notify_relay_endpoint_oldest_age_seconds{method="POST",endpoint="%s"}'
                     % ok_ep] == 0.0
            assert len(ok.requests) == 3 and len(down.requests) == 1
            # anything but GET /metrics
            try:
                scrape(metrics_port, "/stats")	# the stats socket's only
                raise AssertionError("/stats served on metrics_listen")
            except urllib.error.HTTPError as e:
                assert e.code == 404 and e.read() == b"the figures are at /metrics\n"

            # the same figures from pushadm relay stats, every format
            result = subprocess.run([PUSHADM, "-c", d.config, "-f", "json", "relay", "stats"],
                                    capture_output=True, text=True, timeout=30, env=r.env())
            assert result.returncode == 0 and result.stderr == "", result
            rows = json.loads(result.stdout)
            for row in rows:
                assert 1 <= int(row.pop("oldest_secs")) <= elapsed + 1 or \
                    row["endpoint"] == "POST " + ok_ep, row
            assert rows == [
                {"endpoint": "(all)", "queued": "3", "in_flight": "0",
                 "sent": "2", "retry": "1", "failed": "1", "expired": "0"},
                {"endpoint": "POST " + min(ok_ep, down_ep), "queued": "3" if down_ep < ok_ep else "0",
                 "in_flight": "0", "sent": "0" if down_ep < ok_ep else "2",
                 "retry": "1" if down_ep < ok_ep else "0", "failed": "0" if down_ep < ok_ep else "1",
                 "expired": "0"},
                {"endpoint": "POST " + max(ok_ep, down_ep), "queued": "0" if down_ep < ok_ep else "3",
                 "in_flight": "0", "sent": "2" if down_ep < ok_ep else "0",
                 "retry": "0" if down_ep < ok_ep else "1", "failed": "1" if down_ep < ok_ep else "0",
                 "expired": "0"}], rows
            result = subprocess.run([PUSHADM, "-c", d.config, "-f", "tab", "relay", "stats"],
                                    capture_output=True, text=True, timeout=30, env=r.env())
            assert result.returncode == 0
            lines = result.stdout.splitlines()
            assert lines[0] == "Endpoint\tQueued\tIn flight\tOldest (s)\tSent\tRetry\tFailed\tExpired"
            assert re.fullmatch(r"\(all\)\t3\t0\t\d+\t2\t1\t1\t0", lines[1]), lines
            assert len(lines) == 4
            result = subprocess.run([PUSHADM, "-c", d.config, "relay", "stats"],
                                    capture_output=True, text=True, timeout=30, env=r.env())
            assert result.returncode == 0 and result.stdout.split("\n")[0].split() == [
                "Endpoint", "Queued", "In", "flight", "Oldest", "(s)", "Sent", "Retry",
                "Failed", "Expired"], result.stdout
            # only root reads them: the stats socket is 0600 and SO_PEERCRED-checked
            st = os.stat(os.path.join(d.relay_dir, "relay-stats.sock"))
            assert (st.st_mode & 0o777, st.st_uid) == (0o600, 0)
            result = subprocess.run([PUSHADM, "-c", d.config, "relay", "stats"],
                                    capture_output=True, text=True, timeout=30, env=r.env(),
                                    user=TEST_USER)
            assert (result.returncode, result.stdout, result.stderr) == (
                77, "", "pushadm relay stats: only root may read the relay's figures (%s)\n"
                % os.path.join(d.relay_dir, "relay-stats.sock")), (result.returncode, result.stdout, result.stderr)
            code, _ = r.stop()
            assert code == 0
            # stopped: its sockets are gone, and relay stats says so
            assert not os.path.exists(os.path.join(d.relay_dir, "relay-stats.sock"))
            result = subprocess.run([PUSHADM, "-c", d.config, "relay", "stats"],
                                    capture_output=True, text=True, timeout=30, env=r.env())
            assert (result.returncode, result.stdout, result.stderr) == (
                69, "", "pushadm relay stats: the relay is not running (nothing answers "
                "on %s); its figures exist while it runs\n"
                % os.path.join(d.relay_dir, "relay-stats.sock")), result


def test_metrics_on_a_unix_socket_and_listen_checked():
    with Dovecot(**ours({"push_notification_driver": "http:url=http://127.0.0.1:9/x"})) as d:
        path = os.path.join(d.relay_dir, "metrics", "relay-metrics.sock")
        with relay(d, ['metrics_listen = "%s"' % path, 'metrics_socket_mode = "0660"',
                       'metrics_socket_group = "%s"' % TEST_USER]) as r:
            st = os.stat(path)
            assert (st.st_mode & 0o777, st.st_uid, st.st_gid) == (
                0o660, 0, grp.getgrnam(TEST_USER).gr_gid)
            status, headers, body = unix_get(path)
            assert status == "HTTP/1.1 200 OK" and headers["Content-Type"] == OPENMETRICS_TYPE
            assert int(headers["Content-Length"]) == len(body.encode())
            assert body.startswith("# TYPE push_notify_relay_queued gauge\n")
            assert "\npush_notify_relay_queued 0\npush_notify_relay_in_flight" not in body
            assert "\npush_notify_relay_queued 0\n" in body and body.endswith("\n# EOF\n")
            status, headers, body = unix_get(path, b"POST /metrics HTTP/1.1\r\n\r\n")
            assert (status, body) == ("HTTP/1.1 405 Method Not Allowed",
                                      "only GET /metrics is served here\n")
            # a scraper that never sends its request does not hold up the relay
            with socket.socket(socket.AF_UNIX) as idle:
                idle.connect(path)
                assert unix_get(path)[0] == "HTTP/1.1 200 OK"
                assert r.answers()
            r.stop()
        assert not os.path.exists(path)
        # only loopback; a bad value stops the relay naming file, line, setting
        conf = os.path.join(d.relay_dir, "bad.conf")
        for value, why in (("0.0.0.0:9100", "not a loopback address"),
                           ("192.0.2.1:9100", "not a loopback address"),
                           ("127.0.0.1:0", "expected 127.0.0.1:PORT"),
                           ("metrics.sock", "expected 127.0.0.1:PORT")):
            with open(conf, "w") as f:
                f.write('journal = "%s/j.db"\nmetrics_listen = "%s"\n' % (d.relay_dir, value))
            result = subprocess.run([PUSHADM, "-c", d.config, "relay", "run", "--config", conf],
                                    capture_output=True, text=True, timeout=30)
            assert result.returncode == 78, (value, result)
            assert ('%s line 2: invalid metrics_listen = "%s" (%s' % (conf, value, why)
                    in result.stderr), (value, result.stderr)
