"""Test harness: a private real Dovecot on loopback, a real HTTP receiver,
and messages to deliver. Python 3 standard library only.

Everything here is bounded in time; only 127.0.0.1 is used; only processes
this module started are ended, by pid."""
import email.header
import http.server
import imaplib
import json
import os
import pwd
import random
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import tempfile
import threading
import time

TEST_USER = "pushtest"
PASSWORD = "secret"
MODULE_DIR = "/usr/lib/dovecot/modules"


_PORTS_GIVEN = set()


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port():
    """A port nothing listens on right now (connections to it are refused).
    It is taken below the kernel's ephemeral range: a port from bind(0)
    is one the kernel also gives to outgoing connections, and a test that
    binds it later (an endpoint that "comes back") failed with EADDRINUSE
    when one of them had it meanwhile. Never the same port twice in one
    run."""
    low = _ephemeral_low()
    for _ in range(200):
        port = random.randrange(10000, max(10001, low))
        if port in _PORTS_GIVEN:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _PORTS_GIVEN.add(port)
        return port
    with socket.socket() as s:	# a crowded range: the kernel's choice
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def read_log(path):
    """A log file's text so far ("" before it exists)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def wait_until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError("timed out after %ss waiting for %s" % (timeout, what))


# --- HTTP receiver --------------------------------------------------------

class Receiver:
    """A real HTTP server recording every request.

    Behaviour for the following requests: respond(status, body, delay,
    headers), or a per-request queue with script([...]) of dicts with the
    same keys or {"hang": True} / {"garbage": True}."""

    def __init__(self, port=0, tls=None):
        """tls: (certfile, keyfile) to serve HTTPS."""
        self.requests = []
        self._lock = threading.Lock()
        self._default = {"status": 200, "body": b"", "delay": 0.0, "headers": None}
        self._script = []
        self._stopping = threading.Event()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _any(self):
                receiver._handle(self)

            do_GET = do_POST = do_PUT = do_DELETE = _any

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = "http://127.0.0.1:%d" % self.port
        if tls:
            import ssl
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
            self.url = "https://127.0.0.1:%d" % self.port
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def respond(self, status=200, body=b"", delay=0.0, headers=None):
        with self._lock:
            self._default = {"status": status, "body": body, "delay": delay,
                             "headers": headers}

    def script(self, behaviours):
        with self._lock:
            self._script = list(behaviours)

    def _next_behaviour(self):
        with self._lock:
            return self._script.pop(0) if self._script else dict(self._default)

    def _handle(self, h):
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        record = {"method": h.command, "path": h.path,
                  "headers": {k.lower(): v for k, v in h.headers.items()},
                  "raw_headers": list(h.headers.items()),
                  "body": body, "json": parsed, "time": time.time()}
        with self._lock:
            self.requests.append(record)
        b = self._next_behaviour()
        if b.get("hang"):
            self._stopping.wait(120)
            h.close_connection = True
            return
        if b.get("garbage"):
            h.wfile.write(b"\x00\x01 this is not HTTP\r\n\r\n")
            h.close_connection = True
            return
        if b.get("delay"):
            self._stopping.wait(b["delay"])
        payload = b.get("body") or b""
        h.send_response(b.get("status", 200))
        for name, value in (b.get("headers") or {}).items():
            h.send_header(name, value)
        h.send_header("Content-Length", str(len(payload)))
        h.end_headers()
        h.wfile.write(payload)

    def wait_for(self, n, timeout=10):
        """The requests once at least n arrived."""
        try:
            wait_until(lambda: len(self.requests) >= n, timeout,
                       "%d request(s)" % n)
        except AssertionError:
            raise AssertionError("expected %d request(s), got %d: %r" %
                                 (n, len(self.requests), self.requests))
        return list(self.requests)

    def stop(self):
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


# --- Dovecot --------------------------------------------------------------

def make_certificate(directory, cn="pushtest.invalid"):
    """A self-signed certificate for 127.0.0.1; returns (cert, key) paths."""
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                    "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=" + cn,
                    "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    return cert, key


def ensure_test_user():
    try:
        return pwd.getpwnam(TEST_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home",
                        "--shell", "/usr/sbin/nologin", TEST_USER], check=True)
        return pwd.getpwnam(TEST_USER)


# what the 2.3 and 2.4 test configurations share
HEAD = """\
base_dir = {tmp}/run
state_dir = {tmp}/state
log_path = {tmp}/dovecot.log
instance_name = pushtest-{port_lmtp}
protocols = imap lmtp
listen = 127.0.0.1
ssl = no
"""
USERS = """\
auth_mechanisms = plain login
default_internal_user = {user}
default_internal_group = {user}
default_login_user = {user}
"""

# the listeners on loopback ports (2.3 calls the address "address", 2.4
# "listen")
SERVICES = """\
service lmtp {{
  inet_listener lmtp {{
    {listen_key} = 127.0.0.1
    port = {port_lmtp}
  }}
}}
service imap-login {{
  inet_listener imap {{
    {listen_key} = 127.0.0.1
    port = {port_imap}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service stats {{
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"""

CONFIG = HEAD + """\
disable_plaintext_auth = no
""" + USERS + """\
passdb {{
  driver = passwd-file
  args = {tmp}/passwd
}}
userdb {{
  driver = static
  args = uid={user} gid={user} home={tmp}/home/%u
}}
mail_location = maildir:~/Maildir
mail_plugin_dir = {tmp}/modules
imap_metadata = yes
mail_attribute_dict = file:%h/dovecot-attributes
mail_debug = {mail_debug}
import_environment = TZ {import_env}
""" + SERVICES + """protocol lmtp {{
  mail_plugins = $mail_plugins {mail_plugins}
}}
protocol lda {{
  mail_plugins = $mail_plugins {mail_plugins}
}}
protocol imap {{
  mail_plugins = $mail_plugins {mail_plugins}
}}
plugin {{
{plugin}
}}
{extra}
"""


# Dovecot 2.4 (Debian 13) reads another configuration syntax: the same
# private server in 2.4 terms. Tests keep giving 2.3 plugin settings;
# config_24() turns them into push_notify blocks (docs/upgrading.md).
CONFIG_24 = """\
dovecot_config_version = 2.4.0
dovecot_storage_version = 2.4.0
""" + HEAD + """\
auth_allow_cleartext = yes
""" + USERS + """\
passdb passwd-file {{
  passwd_file_path = {tmp}/passwd
}}
userdb static {{
  fields {{
    uid = {user}
    gid = {user}
    home = {tmp}/home/%{{user}}
{userdb_fields}
  }}
}}
mail_driver = maildir
mail_path = ~/Maildir
mail_plugin_dir = {tmp}/modules
imap_metadata = yes
mail_attribute {{
  dict file {{
    path = %{{home}}/dovecot-attributes
  }}
}}
mail_debug = {mail_debug}
import_environment {{
  TZ = %{{env:TZ}}
{import_env}
}}
""" + SERVICES + """protocol lmtp {{
{mail_plugins}
}}
protocol lda {{
{mail_plugins}
}}
protocol imap {{
{mail_plugins}
}}
{plugin}
{extra}
"""

_version = None


def dovecot_version():
    """(major, minor) of the Dovecot on this machine."""
    global _version
    if _version is None:
        out = subprocess.run(["dovecot", "--version"], capture_output=True,
                             text=True, timeout=30).stdout
        _version = tuple(int(x) for x in re.match(r"(\d+)\.(\d+)", out).groups())
    return _version


def is_24():
    return dovecot_version() >= (2, 4)


def dovecot23_only(why):
    """Marks a test of behaviour only Dovecot 2.3 has (its plugin {}
    settings, numbered drivers). The runner reports it as not applicable on
    2.4, with the reason, and counts it neither passed nor failed."""
    def mark(test):
        test.not_applicable = lambda: is_24() and "Dovecot 2.3 only (%s)" % why
        return test
    return mark


def dovecot24_only(why):
    """The same for behaviour only Dovecot 2.4 has (push_notify blocks)."""
    def mark(test):
        test.not_applicable = lambda: not is_24() and "Dovecot 2.4 only (%s)" % why
        return test
    return mark


# the driver-spec options that are typed settings in a 2.4 push_notify block
TYPED_OPTIONS = {"url", "events", "mailboxes", "bearer_file", "secret_file",
                 "tls_ca_file", "timeout_msecs", "max_retries", "cache_lifetime",
                 "stream", "maxlen", "file"}
TYPED_FLAGS = {"batch", "tls_no_verify", "user_from_metadata"}
EVENT_NAMES = {e.lower() for e in (
    "MessageNew", "MessageAppend", "MessageRead", "MessageTrash", "MessageExpunge",
    "FlagsSet", "FlagsClear", "MailboxCreate", "MailboxDelete", "MailboxRename",
    "MailboxSubscribe", "MailboxUnsubscribe")}
# numbers among them (a time: cache_lifetime)
TYPED_NUMBERS = {"timeout_msecs", "max_retries", "maxlen"}
GLOBALS_24 = {"push_notification_max_delay": "push_notify_max_delay",
              "push_notification_spool_dir": "push_notify_spool_dir",
              "push_notification_spool_only": "push_notify_spool_only",
              "push_notification_relay_socket": "push_notify_relay_socket",
              "push_notification_relay_timeout": "push_notify_relay_timeout",
              "push_notification_module_dir": "push_notify_module_dir"}


def quote24(value):
    return '"%s"' % value.replace("\\", "\\\\").replace('"', '\\"')


def block_24(name, spec):
    """A 2.3 driver spec as a 2.4 push_notify block named after its 2.3
    setting: typed options where the spec is well-formed, otherwise the
    spec as it is in driver = (which the plugin accepts too)."""
    driver, _, options = spec.partition(":")
    tokens = options.split()
    lines, headers = [], []
    typed = driver != "" and " " not in driver
    for t in tokens:
        key, eq, value = t.partition("=")
        if key == "header" and eq and ":" in value:
            headers.append(value.split(":", 1))
        elif key in TYPED_OPTIONS and eq:
            if key == "stream":	# 2.3 expands %d, 2.4 writes it so
                value = value.replace("%d", "%{user|domain}")
            # what Dovecot 2.4 would refuse in a typed block stays a spec
            # in driver =, which is checked when mail arrives, as on 2.3
            if key in TYPED_NUMBERS and not value.isdigit():
                typed = False
            if key == "url" and driver in ("http", "ox") and \
                    not value.lower().startswith(("http://", "https://")):
                typed = False
            if key == "events" and not all(
                    e.lower() in EVENT_NAMES for e in value.split(",") if e):
                typed = False
            if key == "cache_lifetime":
                if value.isdigit():
                    value += "s"	# 2.4 times have units
                elif not re.fullmatch(r"\d+ ?[a-z]+", value):
                    typed = False
            lines.append("  %s = %s" % (key, quote24(value)))
        elif key in TYPED_FLAGS and not eq:
            lines.append("  %s = yes" % key)
        else:
            typed = False
    if not typed:
        return "push_notify %s {\n  driver = %s\n}" % (name, quote24(spec))
    if headers:
        lines.append("  header {\n%s\n  }" % "\n".join(
            "    %s = %s" % (k, quote24(v)) for k, v in headers))
    return "push_notify %s {\n  driver = %s\n%s\n}" % (name, driver, "\n".join(lines))


def plugin_conf(settings):
    """Plugin settings as a piece of configuration for this Dovecot."""
    if is_24():
        return config_24(settings) + "\n"
    return "plugin {\n%s\n}\n" % "\n".join("  %s = %s" % kv for kv in settings.items())


def mail_plugins_conf(protocol, plugins):
    """A protocol's mail_plugins, added to the global ones, for this Dovecot."""
    if is_24():
        return "protocol %s {\n  mail_plugins {\n%s\n  }\n}\n" % (
            protocol, "\n".join("    %s = yes" % p for p in plugins.split()))
    return "protocol %s {\n  mail_plugins = $mail_plugins %s\n}\n" % (protocol, plugins)


def reference_block_24(spec):
    """The same driver for Dovecot's own push_notification plugin, in the
    2.4 syntax of its named blocks."""
    driver, _, options = spec.partition(":")
    if driver not in ("ox", "dlog", "lua"):
        return ""	# a driver Dovecot's plugin does not have
    lines = []
    for t in options.split():
        key, eq, value = t.partition("=")
        if driver == "ox" and key in ("url", "user_from_metadata", "cache_lifetime"):
            lines.append("  ox_%s = %s" % (key.replace("cache_lifetime", "cache_ttl"),
                                         quote24(value) if eq else "yes"))
        elif driver == "lua" and key == "file":
            lines.append("  lua_file = %s" % quote24(value))
        else:
            raise ValueError("no 2.4 form of %s for Dovecot's push_notification" % t)
    return "push_notification %s {\n%s\n}" % (driver, "\n".join(lines))


def quota_24(plugin):
    """quota = maildir:NAME with quota_rule = *:storage=SIZE, in 2.4 terms."""
    driver, _, name = plugin["quota"].partition(":")
    m = re.fullmatch(r"\*:storage=(\w+)", plugin.get("quota_rule", ""))
    if not m:
        raise ValueError("no Dovecot 2.4 form for quota_rule %r" % plugin.get("quota_rule"))
    return "quota %s {\n  driver = %s\n  storage_size = %s\n}" % (
        quote24(name), driver, m.group(1))


def config_24(plugin, reference=False, userdb_fields=None):
    """2.3 plugin settings in 2.4 terms: push_notification_driver, _driver2,
    ... become blocks (in the 2.3 reading order: the list ends at the first
    missing number, as the 2.3 plugin reads it), the global settings take the
    push_notify_ prefix, other settings (for scripts) go to userdb_fields
    when it is given. Anything else has no 2.4 meaning here."""
    out = []
    for key, value in plugin.items():
        if key in GLOBALS_24:
            out.append("%s = %s" % (GLOBALS_24[key], quote24(value)))
        elif key.startswith("push_notification_driver"):
            continue
        elif key == "quota":
            out.append(quota_24(plugin))
        elif key == "quota_rule":
            continue
        elif userdb_fields is not None and key != "mail_lua_script":
            # what a script reads with user:plugin_getenv() (2.4: userdb)
            userdb_fields[key] = value
        else:
            raise ValueError("no Dovecot 2.4 form for plugin setting %s" % key)
    for i in range(1, 100):
        key = "push_notification_driver" + ("" if i == 1 else str(i))
        if not plugin.get(key):
            break
        out.append(block_24(key, plugin[key]))
        if reference:
            out.append(reference_block_24(plugin[key]))
    return "\n".join(out)


class Dovecot:
    """A private Dovecot master under a fresh temp dir."""

    def __init__(self, users=("alice", "bob"), mail_plugins="notify push_notification",
                 plugin=None, extra_modules=(), env_library_path=None,
                 mail_debug=False, extra_conf=""):
        self.users = list(users)
        self.tmp = tempfile.mkdtemp(prefix="pushtest-")
        self.lmtp_port = free_port()
        self.imap_port = free_port()
        self.pid = None
        pw = ensure_test_user()
        for sub in ("run", "state", "home", "modules", "spool"):
            os.makedirs(os.path.join(self.tmp, sub))
        os.chmod(self.tmp, 0o755)
        os.chown(os.path.join(self.tmp, "home"), pw.pw_uid, pw.pw_gid)
        # our plugin's spool: the delivery user creates its areas
        self.spool_dir = os.path.join(self.tmp, "spool")
        os.chown(self.spool_dir, pw.pw_uid, pw.pw_gid)
        plugin = dict(plugin or {})
        plugin.setdefault("push_notification_spool_dir", self.spool_dir)
        # the relay's socket in the temp dir, never the system's: without
        # a Relay started there, deliveries fall back to sending themselves
        self.relay_dir = os.path.join(self.tmp, "relay")
        os.makedirs(self.relay_dir, mode=0o755)
        os.chmod(self.relay_dir, 0o755)
        plugin.setdefault("push_notification_relay_socket",
                          os.path.join(self.relay_dir, "relay.sock"))
        self.relay_socket = plugin["push_notification_relay_socket"]
        # a relay a test starts (pushadm relay run, or spool run, its
        # alias) reads this relay.conf: its journal in the temp dir, never
        # /etc's settings or /var/lib's journal
        self.relay_conf = os.path.join(self.relay_dir, "relay.conf")
        with open(self.relay_conf, "w") as f:
            f.write('journal = "%s"\n' % os.path.join(self.relay_dir, "journal.db"))
        os.environ["PUSHADM_RELAY_CONF"] = self.relay_conf
        self._link_modules(extra_modules)
        with open(os.path.join(self.tmp, "passwd"), "w") as f:
            for u in self.users:
                f.write("%s:{PLAIN}%s::::::\n" % (u, PASSWORD))
        self.config = os.path.join(self.tmp, "dovecot.conf")
        if is_24():
            self._write_config_24(plugin, mail_plugins, mail_debug,
                                  env_library_path, extra_conf)
        else:
            self._write_config_23(plugin, mail_plugins, mail_debug,
                                  env_library_path, extra_conf)
        self.log_path = os.path.join(self.tmp, "dovecot.log")

    def _write_config_24(self, plugin, mail_plugins, mail_debug,
                         env_library_path, extra_conf):
        plugins = "\n".join("    %s = yes" % p for p in mail_plugins.split())
        fields = {}
        plugin_conf = config_24(plugin, "push_notification" in mail_plugins.split(), fields)
        with open(self.config, "w") as f:
            f.write(CONFIG_24.format(
                listen_key="listen", tmp=self.tmp, user=TEST_USER, port_lmtp=self.lmtp_port,
                port_imap=self.imap_port,
                mail_plugins="  mail_plugins {\n%s\n  }" % plugins if plugins else "",
                mail_debug="yes" if mail_debug else "no",
                import_env=("  LD_LIBRARY_PATH = %s" % env_library_path)
                if env_library_path else "",
                plugin=plugin_conf, extra=extra_conf,
                userdb_fields="\n".join("    %s = %s" % (k, quote24(v))
                                        for k, v in fields.items())))

    def _write_config_23(self, plugin, mail_plugins, mail_debug,
                         env_library_path, extra_conf):
        import_env = ("LD_LIBRARY_PATH=%s" % env_library_path) if env_library_path else ""
        with open(self.config, "w") as f:
            f.write(CONFIG.format(
                listen_key="address", tmp=self.tmp, user=TEST_USER, port_lmtp=self.lmtp_port,
                port_imap=self.imap_port, mail_plugins=mail_plugins,
                mail_debug="yes" if mail_debug else "no", import_env=import_env,
                plugin="\n".join("  %s = %s" % kv for kv in (plugin or {}).items()),
                extra=extra_conf))

    def _link_modules(self, extra_modules):
        dest = os.path.join(self.tmp, "modules")
        ours = {os.path.basename(p) for p in extra_modules}
        for name in os.listdir(MODULE_DIR):
            if name in ours:	# the freshly built one wins over an installed one
                continue
            os.symlink(os.path.join(MODULE_DIR, name), os.path.join(dest, name))
        for path in extra_modules:
            os.symlink(os.path.abspath(path), os.path.join(dest, os.path.basename(path)))

    # lifecycle

    def start(self):
        # the master daemonizes: its output goes to a file, not a pipe that
        # the daemon would keep open
        out_path = os.path.join(self.tmp, "dovecot.out")
        with open(out_path, "w") as out:
            code = subprocess.run(["dovecot", "-c", self.config], stdout=out,
                                  stderr=subprocess.STDOUT, timeout=30).returncode
        if code != 0:
            raise AssertionError("dovecot failed to start: %s\n%s" %
                                 (open(out_path).read(), self.log()[-3000:]))
        pidfile = os.path.join(self.tmp, "run", "master.pid")
        wait_until(lambda: os.path.exists(pidfile) and open(pidfile).read().strip(),
                   10, "master.pid")
        self.pid = int(open(pidfile).read().strip())
        for port in (self.lmtp_port, self.imap_port):
            wait_until(lambda: self._accepts(port), 10, "port %d" % port)
        return self

    @staticmethod
    def _accepts(port):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            return False

    def stop(self):
        if self.pid is None:
            return
        try:
            os.kill(self.pid, signal.SIGTERM)
            wait_until(lambda: not self._alive(self.pid), 10, "dovecot to stop")
        except ProcessLookupError:
            pass
        except AssertionError:
            os.kill(self.pid, signal.SIGKILL)
        self.pid = None

    @staticmethod
    def _alive(pid):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        # a zombie of ours is gone for every purpose here
        try:
            with open("/proc/%d/stat" % pid) as f:
                return f.read().split(")")[-1].split()[0] != "Z"
        except OSError:
            return False

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        if os.environ.get("PUSHADM_RELAY_CONF") == self.relay_conf:
            del os.environ["PUSHADM_RELAY_CONF"]
        if os.environ.get("KEEP_TMP") != "1":
            shutil.rmtree(self.tmp, ignore_errors=True)

    # delivery and access

    def lmtp_deliver(self, rcpts, message, sender="sender@example.org"):
        with smtplib.LMTP("127.0.0.1", self.lmtp_port, timeout=60) as lmtp:
            refused = lmtp.sendmail(sender, list(rcpts), message)
        if refused:
            raise AssertionError("LMTP refused: %r" % refused)

    def lda_deliver(self, user, message, sender="sender@example.org"):
        result = subprocess.run(
            ["/usr/lib/dovecot/dovecot-lda", "-c", self.config, "-d", user,
             "-f", sender], input=message, capture_output=True, timeout=60)
        if result.returncode != 0:
            raise AssertionError("dovecot-lda failed (%d): %s" %
                                 (result.returncode, result.stderr.decode(errors="replace")))

    def imap(self, user):
        imap = imaplib.IMAP4("127.0.0.1", self.imap_port, timeout=60)
        imap.login(user, PASSWORD)
        return imap

    def doveadm(self, *args):
        result = subprocess.run(["doveadm", "-c", self.config] + list(args),
                                capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            raise AssertionError("doveadm %s failed: %s" % (args, result.stderr))
        return result.stdout

    def set_ox_metadata(self, user, value):
        self.doveadm("mailbox", "metadata", "set", "-u", user, "-s", "",
                     "/private/vendor/vendor.dovecot/http-notify", value)

    # the log

    def log(self):
        return read_log(self.log_path)

    def log_lines(self, since=0):
        return self.log().splitlines()[since:]

    def wait_log(self, pattern, timeout=5):
        """The first log line matching the regex."""
        rx = re.compile(pattern)

        def find():
            return next((l for l in self.log_lines() if rx.search(l)), None)
        try:
            return wait_until(find, timeout, "log line /%s/" % pattern)
        except AssertionError:
            raise AssertionError("no log line matches /%s/; log:\n%s" %
                                 (pattern, self.log()[-4000:]))


# --- messages -------------------------------------------------------------

class Relay:
    """A real `pushadm -c CONF relay run` for a Dovecot of this harness: its
    own relay.conf (journal = and the given lines), its journal and its log
    in the Dovecot's temp dir, listening on the Dovecot's relay socket."""

    def __init__(self, pushadm, dovecot, conf_lines=(), conf_path=None, debug=False):
        self.pushadm = pushadm
        self.debug = debug
        self.dovecot = dovecot
        self.dir = dovecot.relay_dir
        self.socket = dovecot.relay_socket
        self.conf = conf_path or os.path.join(self.dir, "relay.conf")
        self.journal = os.path.join(self.dir, "journal.db")
        self.log_path = os.path.join(self.dir, "relay.log")
        self.proc = None
        if conf_path is None:
            with open(self.conf, "w") as f:
                f.write('journal = "%s"\n' % self.journal)
                for line in conf_lines:
                    f.write(line + "\n")

    def env(self):
        return dict(os.environ, PUSHADM_RELAY_CONF=self.conf)

    def start(self, wait=True):
        since = len(self.log())
        with open(self.log_path, "a") as log:
            self.proc = subprocess.Popen(
                [self.pushadm] + (["-D"] if self.debug else []) +
                ["-c", self.dovecot.config, "relay", "run", "--config", self.conf],
                stdout=log, stderr=log, env=self.env())
        if wait:
            # it listens first, and serves once its journal is loaded
            wait_until(lambda: self.proc.poll() is not None or
                       ("listening on" in self.log()[since:] and self.answers()),
                       20, "the relay's socket")
            if self.proc.poll() is not None:
                raise AssertionError("relay exited %d:\n%s" % (self.proc.returncode,
                                                                self.log()))
        return self

    def answers(self):
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.settimeout(1)
                s.connect(self.socket)
            return True
        except OSError:
            return False

    def stop(self, sig=signal.SIGTERM, timeout=20):
        """Signals the relay and waits for it: (exit code, seconds)."""
        if self.proc is None or self.proc.poll() is not None:
            return (self.proc.returncode if self.proc else None, 0.0)
        start = time.monotonic()
        self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            raise AssertionError("the relay did not stop within %ds" % timeout)
        return (code, time.monotonic() - start)

    def kill(self):
        return self.stop(signal.SIGKILL)

    def log(self):
        return read_log(self.log_path)

    def wait_log(self, pattern, timeout=10):
        rx = re.compile(pattern)
        wait_until(lambda: rx.search(self.log()), timeout,
                   "relay log line /%s/; log:\n%s" % (pattern, self.log()[-3000:]))
        return rx.search(self.log())

    def journal_rows(self):
        """(id, user, attempts, record) of every journaled notification."""
        import sqlite3
        if not os.path.exists(self.journal):
            return []
        db = sqlite3.connect(self.journal, timeout=10)
        try:
            return db.execute("SELECT id, user, attempts, record FROM entries "
                              "ORDER BY created, id").fetchall()
        finally:
            db.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        if self.proc is not None and self.proc.poll() is None:
            self.stop(signal.SIGKILL)


def make_message(from_="Sender <sender@example.org>", to="alice@example.org",
                 subject="Test", body="Hello\r\n", headers=None, raw=None):
    """A message as bytes with CRLF line ends; None leaves a header out."""
    if raw is not None:
        return raw
    lines = []
    for name, value in (("From", from_), ("To", to), ("Subject", subject)):
        if value is not None:
            lines.append("%s: %s" % (name, value))
    for name, value in (headers or {}).items():
        lines.append("%s: %s" % (name, value))
    head = "\r\n".join(lines).encode("utf-8")
    if isinstance(body, str):
        body = body.encode("utf-8")
    return head + b"\r\n\r\n" + body


def _long_folded_subject(size):
    words = ("word%d" % i for i in range(size // 6))
    line, lines = "", []
    for w in words:
        if len(line) + len(w) > 70:
            lines.append(line)
            line = ""
        line += " " + w
    lines.append(line)
    return "\r\n".join(lines).strip()


SAMPLE_MESSAGES = {
    "plain": make_message(subject="Plain ASCII", body="Just a plain message.\r\n"),
    "encoded-b": make_message(
        from_="=?UTF-8?B?SsO2cmcgTcO8bGxlcg==?= <joerg@example.org>",
        subject="=?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?=", body="Hallo!\r\n"),
    "encoded-q-latin1": make_message(
        from_="=?ISO-8859-1?Q?Andr=E9?= <andre@example.org>",
        subject="=?ISO-8859-1?Q?Caf=E9_cr=E8me?= and more",
        body="Bonjour\r\n"),
    "folded-subject": make_message(
        subject="A rather long subject line that the sender folded\r\n"
                " onto a second line and\r\n\ta third one", body="Folded.\r\n"),
    "multipart-alternative": make_message(
        subject="Alternative",
        headers={"MIME-Version": "1.0",
                 "Content-Type": 'multipart/alternative; boundary="b1"'},
        body="--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
             "Plain part first.\r\n--b1\r\nContent-Type: text/html\r\n\r\n"
             "<p>HTML part</p>\r\n--b1--\r\n"),
    "html-only": make_message(
        subject="HTML only",
        headers={"MIME-Version": "1.0", "Content-Type": "text/html; charset=utf-8"},
        body="<html><head><style>p {color: red}</style></head><body>"
             "<p>Hello <b>bold</b>&nbsp;world &amp; friends</p>"
             "<br>second&lt;line&gt;</body></html>\r\n"),
    "base64-body": make_message(
        subject="Base64",
        headers={"MIME-Version": "1.0", "Content-Type": "text/plain; charset=utf-8",
                 "Content-Transfer-Encoding": "base64"},
        body="SGVsbG8gZnJvbSBiYXNlNjQsIHdpdGggw7xtbGF1dHMu\r\n"),
    "quoted-printable-body": make_message(
        subject="QP",
        headers={"MIME-Version": "1.0",
                 "Content-Type": "text/plain; charset=iso-8859-1",
                 "Content-Transfer-Encoding": "quoted-printable"},
        body="Gr=FC=DFe aus K=F6ln, a soft=\r\nbreak and =3D sign.\r\n"),
    "long-body": make_message(
        subject="Long", body=("The quick brown fox jumps over the lazy dog. " * 40) + "\r\n"),
    "missing-headers": make_message(from_=None, subject=None,
                                    body="No From and no Subject here.\r\n"),
    "missing-subject": make_message(subject=None, body="No Subject.\r\n"),
    "missing-from": make_message(from_=None, subject="No From",
                                 body="Who sent this?\r\n"),
    "invalid-utf8": make_message(
        subject="Bad \xff bytes".encode("latin-1").decode("latin-1"),
        raw=b"From: Bad \xfe\xff <bad@example.org>\r\nTo: alice@example.org\r\n"
            b"Subject: Invalid \xc3\x28 UTF-8 \xff\r\n\r\nBody with \xff\xfe bytes\r\n"),
    # a TAB inside a header (not a fold), and a fold that starts with one
    "tab-in-headers": make_message(
        from_="Tab\tSender <tab@example.org>",
        subject="Before\tafter the tab\r\n\tand a folded line", body="Tabs.\r\n"),
    "quoted-reply": make_message(
        subject="Re: question",
        body="> You asked something\r\n> long ago\r\n\r\nHere is my answer.\r\n"),
}


def hostile_message():
    """CR inside a header value, a NUL byte in the body, and a ~1 MB
    Subject folded into lines shorter than 998 bytes."""
    subject = _long_folded_subject(1024 * 1024)
    return (b"From: Evil \r<evil@example.org>\r\nTo: alice@example.org\r\n"
            b"Subject: " + subject.encode() + b"\r\n"
            b"X-Bad: \xff\xfe\x00end\r\n\r\nNUL \x00 here \xff\r\n")


def ox_reference_decode(value):
    """The reference's raw From/Subject decoded the way a reader would:
    unfolded (a line break and the white space character after it become
    one space), then RFC 2047 words to UTF-8."""
    unfolded = re.sub(r"\r?\n[ \t]", " ", value)
    parts = email.header.decode_header(unfolded)
    return str(email.header.make_header(parts))
