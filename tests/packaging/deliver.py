"""Used by tests/packaging/run.sh: starts a private Dovecot from the SYSTEM
configuration (/etc/dovecot, as the packages left it) plus a test user,
listeners on loopback and, optionally, a driver pointing at a local HTTP
endpoint; delivers one mail over LMTP; prints what the endpoint received.

    deliver.py [--driver] [--expect N]"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from pushtest import Dovecot, Receiver, make_message  # noqa: E402


class SystemDovecot(Dovecot):
    """The system's dovecot.conf included first, then what a private test
    instance needs (the later settings win)."""

    def __init__(self, plugin):
        super().__init__(mail_plugins="", plugin=plugin)
        with open(self.config) as f:
            ours = f.read()
        # our own mail_plugin_dir would hide what the package installed
        ours = "\n".join(l for l in ours.splitlines() if not l.startswith("mail_plugin_dir"))
        with open(self.config, "w") as f:
            f.write("!include /etc/dovecot/dovecot.conf\n" + ours)


def main():
    driver = "--driver" in sys.argv
    expect = int(sys.argv[sys.argv.index("--expect") + 1]) if "--expect" in sys.argv else 1
    with Receiver() as r:
        plugin = {"push_notification_driver": "http:url=%s/hook events=MessageNew" % r.url} \
            if driver else {}
        d = SystemDovecot(plugin)
        try:
            d.start()
            d.lmtp_deliver(["alice"], make_message(subject="package test"))
            imap = d.imap("alice")
            count = int(imap.select("INBOX")[1][0])
            imap.logout()
            print("delivered: %d" % count)
            if expect:
                req = r.wait_for(expect)[0]
                print("notification: %s" % json.dumps(
                    {k: req["json"][k] for k in ("event", "user", "mailbox", "uid", "subject")}))
            errors = [l for l in d.log_lines() if "Error" in l or "Fatal" in l]
            print("errors: %d" % len(errors))
            for line in errors:
                print("  " + line)
        finally:
            d.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
