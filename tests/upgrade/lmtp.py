"""Used by tests/upgrade/run.sh: delivers one mail over LMTP to a unix
socket (the chroot's Dovecot, from the host) and exits 0 when the server
accepted it for the recipient.

    lmtp.py SOCKET RECIPIENT SUBJECT"""
import smtplib
import sys


def main():
    sock, rcpt, subject = sys.argv[1:4]
    msg = ("From: sender@example.com\r\nTo: %s@example.com\r\nSubject: %s\r\n"
           "Message-ID: <%s@upgrade.test>\r\n\r\nA test message.\r\n"
           % (rcpt, subject, subject.replace(" ", "-")))
    lmtp = smtplib.LMTP(timeout=30)
    lmtp.connect(sock)
    try:
        refused = lmtp.sendmail("sender@example.com", [rcpt], msg.encode())
    finally:
        lmtp.quit()
    return 1 if refused else 0


if __name__ == "__main__":
    sys.exit(main())
