"""Runs the integration tests: every test_* function of every test_*.py file
here (or of the files given), each with a wall-clock limit. Prints
PASS/FAIL per test (N/A for a test of behaviour this Dovecot version lacks)
and ends with "N passed, M failed"."""
import importlib.util
import os
import signal
import sys
import time
import traceback

LIMIT = int(os.environ.get("TEST_TIME_LIMIT", "180"))
HERE = os.path.dirname(os.path.abspath(__file__))


class TestTimeout(Exception):
    pass


def on_alarm(signum, frame):
    raise TestTimeout("test exceeded %d seconds" % LIMIT)


def load(path):
    name = os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv):
    pattern = None
    if "-k" in argv:
        i = argv.index("-k")
        pattern = argv[i + 1]
        argv = argv[:i] + argv[i + 2:]
    files = argv or sorted(os.path.join(HERE, f) for f in os.listdir(HERE)
                           if f.startswith("test_") and f.endswith(".py"))
    sys.path.insert(0, HERE)
    signal.signal(signal.SIGALRM, on_alarm)
    passed = failed = 0
    not_applicable = []
    for path in files:
        module = load(path)
        for name in sorted(n for n in dir(module) if n.startswith("test_")):
            full = "%s.%s" % (module.__name__, name)
            if pattern and pattern not in full:
                continue
            check = getattr(getattr(module, name), "not_applicable", None)
            why = check() if check else None
            if why:
                print("N/A %s: %s" % (full, why), flush=True)
                not_applicable.append(full)
                continue
            start = time.monotonic()
            signal.alarm(LIMIT)
            try:
                getattr(module, name)()
                signal.alarm(0)
                print("PASS %s (%.1fs)" % (full, time.monotonic() - start), flush=True)
                passed += 1
            except BaseException as e:
                signal.alarm(0)
                if isinstance(e, KeyboardInterrupt):
                    raise
                print("FAIL %s: %s" % (full, str(e)[:2000]), flush=True)
                traceback.print_exc(limit=6, file=sys.stdout)
                failed += 1
    if not_applicable:
        print("%d not applicable here" % len(not_applicable))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
