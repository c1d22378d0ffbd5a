"""Dovecot events and metrics (docs/metrics.md): the push_notify category
with driver and setting fields, one push_notify_request_finished per
notification, counted by the stats service with docs/metrics.md's own
configuration (doveadm stats dump and the OpenMetrics exporter), its
fields as Dovecot's event exporter writes them, and log filters that
select push_notify's debug lines and one driver's."""
import json
import os
import re
import urllib.request

from built import ours, relay
from pushtest import Dovecot, Receiver, free_port, is_24, make_message, wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
METRICS_DOC = os.path.join(os.path.dirname(os.path.dirname(HERE)), "docs", "metrics.md")


def doc_metrics_conf(stats_port):
    """The ready configuration of docs/metrics.md for this Dovecot, with the
    exporter on stats_port."""
    text = open(METRICS_DOC).read()
    marker = "<!-- metrics-%s -->" % ("2.4" if is_24() else "2.3")
    block = re.search(re.escape(marker) + r"\n```\n(.*?)```", text, re.S).group(1)
    assert "port = 9900" in block
    return block.replace("port = 9900", "port = %d" % stats_port)


def stats_counts(d):
    """{metric name: count} from doveadm stats dump."""
    out = d.doveadm("stats", "dump")
    lines = out.splitlines()
    head = lines[0].split("\t")
    name, count = head.index("metric_name"), head.index("count")
    return {f[name]: int(f[count]) for f in (l.split("\t") for l in lines[1:]) if f[0]}


def spool_files(d, area):
    path = os.path.join(d.spool_dir, area)
    return sorted(os.listdir(path)) if os.path.isdir(path) else []


def test_stats_count_sent_failed_spooled():
    stats_port = free_port()
    refused = free_port()		# nothing listens there: connection refused
    with Receiver() as r:
        plugin = {
            "push_notification_driver": "http:url=%s/hook events=MessageNew" % r.url,
            "push_notification_driver2": "http:url=http://127.0.0.1:%d/x "
                                         "events=MessageNew max_retries=0" % refused,
        }
        with Dovecot(**ours(plugin, extra_conf=doc_metrics_conf(stats_port))) as d:
            # 3 messages: 3 sent (driver), 3 spooled (driver2, refused)
            for i in range(3):
                d.lmtp_deliver(["alice"], make_message(subject="m%d" % i))
            r.wait_for(3)
            # 1 more that the endpoint refuses for good (400): failed, kept
            # in the failed area; driver2 spools one more
            r.respond(400)
            d.lmtp_deliver(["alice"], make_message(subject="refused"))
            r.wait_for(4)
            want = {"push_notify_sent": 3, "push_notify_failed": 1,
                    "push_notify_spooled": 4}
            # the stats service hears from the lmtp process asynchronously
            try:
                wait_until(lambda: all(stats_counts(d).get(k) == v
                                       for k, v in want.items()), 10, "the counts")
            except AssertionError:
                raise AssertionError("doveadm stats dump: %r, want %r\n%s" %
                                     (stats_counts(d), want, d.log()[-3000:]))
            counts = stats_counts(d)
            assert counts.get("push_notify_relayed", 0) == 0, counts
            # what really happened: the receiver, the spool
            assert len(r.requests) == 4
            assert len(spool_files(d, "new")) == 4, spool_files(d, "new")
            assert len(spool_files(d, "failed")) == 1, spool_files(d, "failed")
            # the OpenMetrics exporter, scraped
            text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % stats_port,
                                          timeout=10).read().decode()
            for name, n in want.items():
                assert re.search(r"^dovecot_%s_total %d$" % (name, n), text, re.M), text
            by = re.findall(r'^dovecot_push_notify_requests_total\{(.*)\} (\d+)$', text, re.M)
            labels = {l: int(n) for l, n in by}
            assert labels.get('result="spooled",driver="http",'
                              'setting="push_notification_driver2"') == 4, labels
            assert labels.get('result="sent",driver="http",'
                              'setting="push_notification_driver"') == 3, labels


def test_log_debug_category_and_driver_filter():
    with Receiver() as r:
        plugin = {
            "push_notification_driver": "http:url=%s/hook events=MessageNew" % r.url,
            "push_notification_driver2": "ox:url=%s/ox" % r.url,
        }

        def debug_lines(log_filter, *waits):
            """One delivery with log_debug = log_filter (no mail_debug: only
            the filter turns debug lines on); its Debug lines once each of
            waits was logged."""
            r.requests.clear()
            with Dovecot(**ours(plugin, extra_conf="log_debug = %s\n" % log_filter)) as d:
                d.set_ox_metadata("alice", "user=alice")
                d.lmtp_deliver(["alice"], make_message())
                r.wait_for(2)
                for rx in waits:
                    d.wait_log(r"Debug: .*push_notify: " + rx)
                return [l for l in d.log_lines() if "Debug:" in l]

        ox_sent = r"push_notification_driver2 \(ox\): Notification \S+ sent to "
        debug = debug_lines("category=push_notify", ox_sent,
                            r"push_notification_driver \(http\): Notification \S+ sent to ")
        # nothing else of Dovecot's debugs
        assert all("push_notify: " in l for l in debug), debug
        # a line of the driver instance's event, not an outcome's
        debug = debug_lines("category=push_notify AND driver=ox", ox_sent,
                            r"push_notification_driver2 \(ox\): Sending notification: ")
        assert all("(ox): " in l for l in debug), debug


def test_stats_count_relayed():
    """With the relay running, every notification is handed to it: counted
    as relayed, not as sent by the delivery."""
    stats_port = free_port()
    with Receiver() as r:
        # a relay's first answer may take longer than the default 250ms
        # on a busy machine; a fallback would be counted as sent
        plugin = {"push_notification_driver": "http:url=%s/hook events=MessageNew" % r.url,
                  "push_notification_relay_timeout": "10s"}
        with Dovecot(**ours(plugin, extra_conf=doc_metrics_conf(stats_port))) as d, \
                relay(d):
            for i in range(2):
                d.lmtp_deliver(["alice"], make_message(subject="r%d" % i))
            r.wait_for(2)		# the relay sent them
            try:
                wait_until(lambda: stats_counts(d).get("push_notify_relayed") == 2,
                           10, "the counts")
            except AssertionError:
                raise AssertionError("doveadm stats dump: %r\n%s" %
                                     (stats_counts(d), d.log()[-3000:]))
            counts = stats_counts(d)
            assert (counts.get("push_notify_sent"), counts.get("push_notify_spooled"),
                    counts.get("push_notify_failed")) == (0, 0, 0), counts


# every push_notify_request_finished as JSON in the log, by the stats
# service's own event exporter
EXPORT_23 = """
event_exporter log {
  format = json
  format_args = time-rfc3339
  transport = log
}
"""
EXPORT_24 = """
event_exporter log {
  driver = log
  format = json
}
"""
EXPORT_METRIC = """
metric push_notify_export {
  filter = event=push_notify_request_finished
  exporter = log
  exporter_include = name categories fields
}
"""


def exported(d):
    out = []
    for line in d.log_lines():
        i = line.find('{"event":"push_notify_request_finished"')
        if i >= 0:
            out.append(json.loads(line[i:]))
    return out


def test_exported_fields_and_duration():
    refused = free_port()
    with Receiver() as r:
        r.respond(delay=0.3)		# the duration must show it
        plugin = {
            "push_notification_driver": "http:url=%s/hook events=MessageNew" % r.url,
            "push_notification_driver2": "http:url=http://u:s3cr3t@127.0.0.1:%d/x "
                                         "events=MessageNew max_retries=0" % refused,
        }
        conf = (EXPORT_24 if is_24() else EXPORT_23) + EXPORT_METRIC
        with Dovecot(**ours(plugin, extra_conf=conf)) as d:
            d.lmtp_deliver(["alice"], make_message())
            r.wait_for(1)
            docs = wait_until(lambda: len(exported(d)) == 2 and exported(d), 10,
                              "2 exported events")
            by = {e["fields"]["result"]: e for e in docs}
            assert sorted(by) == ["sent", "spooled"], docs
            for e in docs:
                assert "push_notify" in e["categories"], e
                f = e["fields"]
                assert (f["driver"], f["user"], f["event"], f["mail_event"],
                        f["mailbox"], f["attempts"]) == (
                    "http", "alice", "MessageNew", "MessageNew", "INBOX", 1), f
                assert re.fullmatch(r"[0-9a-f-]{36}", f["id"]), f
            sent, spooled = by["sent"]["fields"], by["spooled"]["fields"]
            assert sent["setting"] == "push_notification_driver"
            assert sent["host"] == "127.0.0.1:%d" % r.port
            assert sent["status_code"] == 200 and "error" not in sent, sent
            # from the notification's creation to the endpoint's answer
            assert 300000 <= sent["duration"] < 30000000, sent
            assert spooled["setting"] == "push_notification_driver2"
            assert spooled["host"] == "127.0.0.1:%d" % refused, spooled
            assert spooled["status_code"] == 0, spooled
            assert "connect" in spooled["error"].lower(), spooled
            assert "s3cr3t" not in d.log()
