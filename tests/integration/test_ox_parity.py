"""OX parity: the same messages delivered once through Dovecot's own
push_notification OX driver and once through ours; the two requests must
agree field by field. The one deliberate difference: From and Subject are
sent decoded to UTF-8 and unfolded (the reference sends the raw header), so
ours is compared with the reference value decoded independently; a TAB
inside a header is kept, as the reference keeps it."""
import email.utils
import json

from built import ours
from pushtest import SAMPLE_MESSAGES, Dovecot, Receiver, ox_reference_decode

OX_PATH = "/preliminary/http-notify/v1/notify"
# headers whose value depends on the connection, not on the driver
TRANSPORT_HEADERS = {"host", "content-length", "connection", "date"}


def deliver_all(dovecot_args, receiver):
    names = sorted(SAMPLE_MESSAGES)
    with Dovecot(**dovecot_args) as d:
        d.set_ox_metadata("alice", "user=alice")
        for name in names:
            d.lmtp_deliver(["alice"], SAMPLE_MESSAGES[name])
            receiver.wait_for(names.index(name) + 1)
    return dict(zip(names, receiver.requests))


def test_ox_parity_with_reference():
    url = "ox:url=http://login:pass@127.0.0.1:{port}" + OX_PATH
    with Receiver() as ref_r:
        ref = deliver_all(dict(mail_plugins="notify push_notification",
                               plugin={"push_notification_driver":
                                       url.format(port=ref_r.port)}), ref_r)
    with Receiver() as our_r:
        our = deliver_all(ours({"push_notification_driver":
                                url.format(port=our_r.port)}), our_r)
    assert sorted(ref) == sorted(our) == sorted(SAMPLE_MESSAGES)

    for name in sorted(SAMPLE_MESSAGES):
        r, o = ref[name], our[name]
        assert (r["method"], r["path"]) == (o["method"], o["path"]) == ("PUT", OX_PATH), name
        r_headers = {k: v for k, v in r["headers"].items() if k not in TRANSPORT_HEADERS}
        o_headers = {k: v for k, v in o["headers"].items() if k not in TRANSPORT_HEADERS}
        assert r_headers == o_headers, (name, r_headers, o_headers)
        assert email.utils.parsedate_to_datetime(o["headers"]["date"]), name
        assert sorted(r["headers"]) == sorted(o["headers"]), (name, r["raw_headers"], o["raw_headers"])

        r_body = json.loads(r["body"], object_pairs_hook=list)
        o_body = json.loads(o["body"], object_pairs_hook=list)
        assert [k for k, _ in r_body] == [k for k, _ in o_body], (name, r_body, o_body)
        for (key, r_val), (_, o_val) in zip(r_body, o_body):
            assert type(r_val) is type(o_val), (name, key, r_val, o_val)
            if key == "imap-uidvalidity":
                continue	# each Dovecot instance has its own mailbox
            if key in ("from", "subject"):
                assert o_val == ox_reference_decode(r_val), (name, key, r_val, o_val)
                if name == "tab-in-headers":
                    # the TAB is sent as a TAB (\t in the JSON), as the
                    # reference sends it; only the fold became a space
                    assert o_val == {"from": "Tab\tSender <tab@example.org>",
                                     "subject": "Before\tafter the tab and a folded line"
                                     }[key], (key, o_val)
                    assert '\\t' in o["body"].decode() and "\t" not in o["body"].decode()
            else:
                assert o_val == r_val, (name, key, r_val, o_val)
