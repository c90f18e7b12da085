# etl-ledger's module spawner: starts one run's modules for the runner (src/runner/spawner.ts).
#
# Why it exists: Node starts a program by forking the whole runner, some 1.4 ms per module
# here; posix_spawn (vfork and exec) costs less than a bash loop's step. It also lets the
# next step start the moment the one before exits 0, while the runner writes its records,
# and it ends the run's modules if the runner dies (its stdin closes).
#
# Input (stdin): messages of an 8-digit length then fields separated by NUL:
#   env NAME=VALUE...        the environment the modules share (each "run"/"next" adds its own)
#   run ID COMMAND ARGV0 CWD NARGS ARGS... NENV NAME=VALUE|NAME...   start now; forget any
#                            "next"; NAME=VALUE sets a variable over the shared ones, NAME unsets it
#   next ID ...the same...   start when the module running now exits 0 and its output ends
#   clear                    forget "next"
#   drop ID                  stop reading a module's output (a process it left holds it)
# Output (stdout): frames of a type byte, a 32-bit id, a 32-bit length, then the data:
#   R ready; S started ("PID"); E cannot start (errno name); o/e output; x exit ("CODE SIGNAL");
#   c output closed. The frames of one turn of the loop go in one write (one wake-up of the runner).
import errno
import os
import selectors
import signal
import struct
import sys
import time

if sys.version_info < (3, 9):
    sys.exit(3)  # the runner then starts modules itself

# Every signal a module gets at its default, as Node's spawn gives them: Python itself ignores
# SIGPIPE and SIGXFSZ, and this process handles the runner's signals and SIGCHLD.
DEFAULT_SIGNALS = tuple(s for s in signal.valid_signals() if s not in (signal.SIGKILL, signal.SIGSTOP))


class Module:
    """A started module: its pid, its output pipes, and how it ended (poll() as in subprocess)."""

    def __init__(self, pid, stdout, stderr):
        self.pid, self.stdout, self.stderr = pid, stdout, stderr
        self.returncode = None

    def poll(self):
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                return self.returncode
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

# The runner decides what a signal means; handled (not ignored) so that modules get the defaults.
for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
    signal.signal(number, lambda *_: None)
wake_read, wake_write = os.pipe()
os.set_blocking(wake_read, False)
os.set_blocking(wake_write, False)
signal.set_wakeup_fd(wake_write)
signal.signal(signal.SIGCHLD, lambda *_: None)

grace = float(sys.argv[1]) / 1000 if len(sys.argv) > 1 else 5.0
note = sys.argv[2] if len(sys.argv) > 2 else ""  # where to name the modules ended as the runner died
selector = selectors.DefaultSelector()
modules = {}  # id -> {"process", "open": pipes not closed, "exited"}
pending_next = None
current = None
current_ok = False  # whether the module started last exited 0 with its output ended
shared_env = {}
outgoing = []


def send(kind, ident, data=b""):
    outgoing.append(struct.pack(">cII", kind, ident, len(data)) + data)


def flush():
    view = memoryview(b"".join(outgoing))
    outgoing.clear()
    while view:
        try:
            view = view[os.write(1, view) :]
        except BrokenPipeError:
            shutdown()


def module_spec(fields):
    """A "run"/"next" message as (id, command, argv, cwd, env), its environment taken now."""
    nargs = int(fields[4])
    nenv = int(fields[5 + nargs])
    env = dict(shared_env)
    for item in fields[6 + nargs : 6 + nargs + nenv]:
        name, is_set, value = item.partition("=")
        if is_set:
            env[name] = value
        else:
            env.pop(name, None)
    return int(fields[0]), fields[1], [fields[2], *fields[5 : 5 + nargs]], fields[3], env


def start(spec):
    global current, current_ok
    current_ok = False
    ident, command, argv, cwd, env = spec
    out_read, out_write = os.pipe()
    err_read, err_write = os.pipe()
    try:
        if cwd != os.getcwd():
            os.chdir(cwd)
        # posix_spawn: vfork and exec, no copy of this process; a session of its own (its own
        # process group), stdin from /dev/null, every signal at its default and none blocked.
        pid = os.posix_spawn(
            command,
            argv,
            env,
            file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
                (os.POSIX_SPAWN_DUP2, out_write, 1),
                (os.POSIX_SPAWN_DUP2, err_write, 2),
            ],
            setsid=True,
            setsigdef=DEFAULT_SIGNALS,
            setsigmask=(),
        )
    except OSError as error:
        for fd in (out_read, out_write, err_read, err_write):
            os.close(fd)
        send(b"E", ident, errno.errorcode.get(error.errno, str(error.errno)).encode())
        return
    except (ValueError, TypeError):
        for fd in (out_read, out_write, err_read, err_write):
            os.close(fd)
        send(b"E", ident, b"ERR_INVALID_ARG_VALUE")
        return
    os.close(out_write)
    os.close(err_write)
    process = Module(pid, os.fdopen(out_read, "rb", buffering=0), os.fdopen(err_read, "rb", buffering=0))
    modules[ident] = {"process": process, "open": 2, "exited": False, "env": env}
    current = ident
    send(b"S", ident, str(process.pid).encode())
    for stream, kind in ((process.stdout, b"o"), (process.stderr, b"e")):
        os.set_blocking(stream.fileno(), False)
        selector.register(stream, selectors.EVENT_READ, (ident, kind))


def parse(payload):
    fields = [f.decode("utf-8", "surrogateescape") for f in payload.split(b"\0")]
    return fields[0], fields[1:]


def handle(message):
    global pending_next, shared_env
    op, fields = parse(message)
    if op == "env":
        shared_env = dict(item.split("=", 1) for item in fields)
    elif op == "run":
        pending_next = None
        start(module_spec(fields))
    elif op == "next":
        pending_next = module_spec(fields)
        advance()
    elif op == "clear":
        pending_next = None
    elif op == "drop":
        ident = int(fields[0])
        module = modules.get(ident)
        if module:
            for stream in (module["process"].stdout, module["process"].stderr):
                close_stream(stream, ident)


def close_stream(stream, ident):
    if stream.closed:
        return
    selector.unregister(stream)
    stream.close()
    module = modules[ident]
    module["open"] -= 1
    if module["open"] == 0:
        send(b"c", ident)
        finished(ident)


def finished(ident):
    """Forgets a module whose exit and output are both told; starts "next" after a success."""
    global current_ok
    module = modules[ident]
    if module["open"] or not module["exited"]:
        return
    del modules[ident]
    if ident == current and module["process"].returncode == 0:
        # Its step fails when it wrote more for the runner than is read: the next must not start.
        current_ok = not wrote_too_much(module["env"])
        advance()


# MAX_BYTES of src/runner/metrics.ts: the most a module may write to ETL_METRICS or ETL_OUTPUTS.
MAX_BYTES = 64 * 1024


def wrote_too_much(env):
    for name in ("ETL_METRICS", "ETL_OUTPUTS"):
        try:
            if os.stat(env.get(name, "")).st_size > MAX_BYTES:
                return True
        except OSError:
            pass
    return False


def advance():
    global pending_next
    if pending_next is None or not current_ok:
        return
    spec, pending_next = pending_next, None
    start(spec)


def reap():
    for ident, module in list(modules.items()):
        if module["exited"]:
            continue
        code = module["process"].poll()
        if code is None:
            continue
        module["exited"] = True
        signame = signal.Signals(-code).name if code < 0 else ""
        send(b"x", ident, f"{code if code >= 0 else ''} {signame}".encode())
        finished(ident)


def shutdown():
    """The runner is gone: end its modules (TERM, then KILL after the grace) and exit."""
    live = [m["process"] for m in modules.values() if not m["exited"] and m["process"].poll() is None]
    outgoing.clear()
    if live and note:
        # Said before they are ended: whoever marks the run abandoned reads it.
        try:
            with open(note, "w") as file:
                file.write("".join(f"{process.pid}\n" for process in live))
        except OSError:
            pass
    for process in live:
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except OSError:
            pass
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(p.poll() is None for p in live):
        time.sleep(0.02)
    for process in live:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except OSError:
            pass
    os._exit(0)


def main():
    os.set_blocking(0, False)
    selector.register(0, selectors.EVENT_READ, (0, b"in"))
    selector.register(wake_read, selectors.EVENT_READ, (0, b"wake"))
    send(b"R", 0)
    flush()
    buffered = b""
    while True:
        for key, _ in selector.select():
            ident, kind = key.data
            if kind == b"wake":
                try:
                    os.read(wake_read, 4096)
                except BlockingIOError:
                    pass
                reap()
            elif kind == b"in":
                try:
                    chunk = os.read(0, 65536)
                except BlockingIOError:
                    continue
                if not chunk:
                    shutdown()
                buffered += chunk
                while len(buffered) >= 8:
                    size = int(buffered[:8])
                    if len(buffered) < 8 + size:
                        break
                    message, buffered = buffered[8 : 8 + size], buffered[8 + size :]
                    handle(message)
            elif not key.fileobj.closed:
                try:
                    data = os.read(key.fd, 65536)
                except BlockingIOError:
                    continue
                if data:
                    send(kind, ident, data)
                else:
                    close_stream(key.fileobj, ident)
        reap()
        if outgoing:
            flush()


main()
