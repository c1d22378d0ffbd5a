"""The demo behind tests/demo.sh: one mail through a private Dovecot with
push_notify and the relay (pushadm relay run), and what the endpoint
received."""
import json
import sys

from built import ours, relay
from pushtest import Dovecot, Receiver, make_message


def main():
    with Receiver() as receiver:
        url = receiver.url.replace("http://", "http://demo:s3cret@") + \
            "/preliminary/http-notify/v1/notify"
        plugin = {"push_notification_driver": "ox:url=" + url,
                  "push_notification_driver2": "dlog"}
        with Dovecot(**ours(plugin)) as dovecot, relay(dovecot, debug=True) as r:
            print("Private Dovecot running: LMTP on 127.0.0.1:%d, IMAP on "
                  "127.0.0.1:%d" % (dovecot.lmtp_port, dovecot.imap_port))
            print("Relay running: pushadm relay run, socket %s" % r.socket)
            print("Drivers: ox -> %s, dlog" % url.replace("demo:s3cret@", "demo:#hidden#@"))
            dovecot.set_ox_metadata("alice", "user=alice")
            dovecot.lmtp_deliver(["alice"], make_message(
                from_="=?UTF-8?Q?J=C3=B6rg_Schmidt?= <joerg@example.org>",
                to="alice@example.org",
                subject="=?UTF-8?B?VHJlZmZlbiBhbSBNb250YWc/?=",
                headers={"Date": "Fri, 27 Nov 2026 09:30:00 +0100"},
                body="Hallo Alice,\r\n\r\nsehen wir uns am Montag um 10?\r\n\r\nJörg\r\n"))
            print("Delivered one mail to alice over LMTP.")
            req = receiver.wait_for(1)[0]
            sent = r.wait_log(r"relay: sent \S+ for alice").group(0)
            print("The delivery handed its notification to the relay, which "
                  "logged: %s\n" % sent)
            print("The endpoint received:")
            print("  %s %s" % (req["method"], req["path"]))
            for name, value in req["raw_headers"]:
                if name.lower() == "authorization":	# never print credentials
                    value = value.split(" ")[0] + " #hidden#"
                print("  %s: %s" % (name, value))
            print()
            print(json.dumps(json.loads(req["body"]), indent=2, ensure_ascii=False))
            print("\nThe dlog driver wrote:")
            for line in dovecot.log_lines():
                if "dlog: " in line:
                    print("  " + line.split("push_notify: ", 1)[1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
