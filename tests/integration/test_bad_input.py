"""Every bad input gives one clear log line naming the driver and the cause,
never a password, and the mail is still delivered."""
import json
import re
import time

from built import ours
from pushtest import Dovecot, Receiver, free_port, hostile_message, make_message

OX_PATH = "/preliminary/http-notify/v1/notify"
SECRET = "pa55w0rd"


def delivered(d, user="alice"):
    imap = d.imap(user)
    typ, data = imap.select("INBOX")
    imap.logout()
    return int(data[0])


def errors(d):
    """push_notify's errors during the LMTP delivery (the IMAP session that
    checks the mailbox logs its own)."""
    return [l for l in d.log_lines()
            if "Error:" in l and "push_notify" in l and "lmtp(" in l]


def run_with_driver(spec, endpoint_setup=None, extra_plugin=None, timing=None):
    """Delivers one mail with the given driver spec; returns (dovecot log
    error lines, full log, delivered count). timing (a list) gets the
    seconds the LMTP delivery took."""
    plugin = {"push_notification_driver": spec}
    plugin.update(extra_plugin or {})
    with Dovecot(**ours(plugin)) as d:
        d.set_ox_metadata("alice", "user=alice")
        start = time.monotonic()
        d.lmtp_deliver(["alice"], make_message())
        if timing is not None:
            timing.append(time.monotonic() - start)
        count = delivered(d)
        return errors(d), d.log(), count


def assert_one_error(errs, log, *patterns):
    assert len(errs) == 1, errs
    for p in patterns:
        assert re.search(p, errs[0]), (p, errs[0])
    assert SECRET not in log


def test_unparsable_driver_string():
    errs, log, count = run_with_driver(":url=http://u:%s@127.0.0.1/" % SECRET)
    assert count == 1
    assert_one_error(errs, log, r"push_notification_driver: driver name is empty",
                     r"mail is delivered without")


def test_unknown_driver():
    errs, log, count = run_with_driver("carrierpigeon:url=http://u:%s@h/" % SECRET)
    assert count == 1
    assert_one_error(errs, log,
                     r"push_notification_driver: Unknown push notification driver: carrierpigeon")


def test_bad_url():
    errs, log, count = run_with_driver("ox:url=ftp://u:%s@127.0.0.1/x" % SECRET)
    assert count == 1
    assert_one_error(errs, log, r"push_notification_driver \(ox\): Failed to parse "
                     r"OX REST URL ftp://#hidden_use-P_to_show#@127\.0\.0\.1/x: "
                     r"only http:// and https://")


def test_missing_url_and_bad_option():
    errs, log, count = run_with_driver("ox:cache_lifetime=forever")
    assert count == 1
    assert_one_error(errs, log, r"\(ox\): Driver requires the url parameter")
    with Receiver() as r:
        url = "http://u:%s@127.0.0.1:%d%s" % (SECRET, r.port, OX_PATH)
        errs, log, count = run_with_driver("ox:url=%s max_retries=many" % url)
        assert count == 1 and errs == []
        assert re.search(r"Warning: .*push_notification_driver \(ox\): Invalid "
                         r"max_retries=many \(not an unsigned number\), using 1", log)
        assert len(r.wait_for(1)) == 1


def test_connection_refused():
    url = "http://u:%s@127.0.0.1:%d%s" % (SECRET, free_port(), OX_PATH)
    errs, log, count = run_with_driver("ox:url=" + url)
    assert count == 1
    assert_one_error(errs, log, r"push_notification_driver \(ox\): Notification "
                     r"[0-9a-f-]{36} to http://#hidden_use-P_to_show#@127\.0\.0\.1:\d+"
                     + OX_PATH + r" failed: .*[Cc]onnect.* \(after 2 attempts\)")


def test_endpoint_answers_500_then_garbage():
    with Receiver() as r:
        r.respond(status=500)
        url = "http://u:%s@127.0.0.1:%d%s" % (SECRET, r.port, OX_PATH)
        errs, log, count = run_with_driver("ox:url=" + url)
        assert count == 1 and len(r.requests) == 2	# max_retries=1
        assert_one_error(errs, log, r"\(ox\): Notification .* failed: HTTP 500 "
                         r"\(after 2 attempts\)")
        r.script([{"garbage": True}] * 2)
        errs, log, count = run_with_driver("ox:url=" + url + " max_retries=0")
        assert count == 1
        assert_one_error(errs, log, r"\(ox\): Notification .* failed: .* "
                         r"\(after 1 attempts\)")


def test_endpoint_hangs_delivery_is_bounded():
    with Receiver() as r:
        r.script([{"hang": True}] * 4)
        url = "http://u:%s@127.0.0.1:%d%s" % (SECRET, r.port, OX_PATH)
        # the driver would wait 60 s per attempt; the delivery bound is 1 s
        timing = []
        errs, log, count = run_with_driver(
            "ox:url=" + url + " timeout_msecs=60000",
            extra_plugin={"push_notification_max_delay": "1s"}, timing=timing)
        # the bound ended the wait: about 1 s, far from the driver's 60 s
        # (the slack is for a loaded machine, not for the plugin)
        assert 0.9 <= timing[0] < 1 + 3, timing
        assert count == 1
        assert_one_error(errs, log, r"\(ox\): Notification .* failed: gave up: "
                         r"the delivery's time for notifications ran out")


def test_hostile_headers_give_valid_json():
    with Receiver() as r, Dovecot(**ours({
            "push_notification_driver": "ox:url=%s%s" % (r.url, OX_PATH)})) as d:
        d.set_ox_metadata("alice", "user=alice")
        d.lmtp_deliver(["alice"], hostile_message())
        body = r.wait_for(1)[0]["body"]
        doc = json.loads(body.decode("utf-8"))	# valid UTF-8 and JSON
        assert doc["from"] == "Evil <evil@example.org>", doc["from"]
        assert doc["subject"].startswith("word0 word1 word2")
        assert len(doc["subject"]) > 1000000 and "\r" not in doc["subject"]
        assert "\n" not in doc["subject"]
        assert doc["snippet"] == "NUL here \ufffd", doc["snippet"]
        assert delivered(d) == 1
