"""Used by tests/upgrade/run.sh: an HTTP endpoint on 127.0.0.1 (the chroots
share the host's network) that appends every request it gets to a log, one
JSON object a line: method, path, the webhook signature header, the body.

    receiver.py PORTFILE LOGFILE

Writes its port to PORTFILE once listening; exits by itself after an hour
(the test kills it by pid well before)."""
import http.server
import json
import os
import sys
import threading

MAX_LIFETIME = 3600


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(min(length, 1 << 20)).decode("utf-8", "replace")
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        record = {"method": self.command, "path": self.path,
                  "signature": self.headers.get("webhook-signature"),
                  "json": parsed, "body": body if parsed is None else None}
        with open(self.server.log, "a") as f:
            f.write(json.dumps(record) + "\n")
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_PUT = do_POST

    def log_message(self, *args):
        pass


def main():
    port_file, log = sys.argv[1], sys.argv[2]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.log = log
    open(log, "a").close()
    with open(port_file + ".tmp", "w") as f:
        f.write("%d\n" % server.server_address[1])
    os.rename(port_file + ".tmp", port_file)
    threading.Timer(MAX_LIFETIME, server.shutdown).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
