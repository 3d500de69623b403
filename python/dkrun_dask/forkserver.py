"""A warm Dask driver: ``python -m dkrun_dask.forkserver SOCKET``.

A fresh driver spends most of its start importing ``distributed`` (numpy with it). This
server imports the driver once, starts no thread and no event loop, and forks a driver for
each run that asks: dkrun connects to SOCKET (a unix socket in a 0700 directory of the
user's DKRUN_HOME), sends a ``fork`` frame (its environment and working directory) with
its stdin, stdout and stderr for the driver as SCM_RIGHTS descriptors, and gets a ``pid``
frame, then an ``exit`` frame (the exit status, 128 + signal for a killed driver) when the
driver ends. The child becomes the driver exactly as ``python -m dkrun_dask.driver`` would
run: its own process group, the run's environment, directory and descriptors, default
signal handling. A connection from another user is refused (SO_PEERCRED).

Once listening, the server writes its pid to SOCKET's ``.pid`` file and ``ready`` on its
stdout, then closes it. It stops listening, and exits when its drivers have ended, after
DKRUN_DASK_WARM_DRIVER_IDLE seconds without a run (600 by default), when its socket is
removed or replaced, or when the code it imported changed on disk (the Python executable,
a file of dkrun_dask, a directory of sys.path: installing or removing a package changes
it), which it checks at every request and answers with ``stale``: a stale server never
runs old code. SIGTERM makes it exit at once; its drivers run on.
"""
import os
import runpy
import selectors
import signal
import socket
import struct
import sys
import time

import dask

from . import driver
from .frames import pack, read_frame

IDLE_SECONDS = 600.0
# How often the server looks whether its socket is still there.
CHECK_SECONDS = 2.0
# The longest a connected client may take to send its request.
REQUEST_SECONDS = 10.0


def fingerprint(directory):
    """What the server's code depends on: (path, mtime, size) of the interpreter, of each
    file of dkrun_dask and of each directory of sys.path but the server's own `directory`
    (``-m`` puts it there; its sockets come and go)."""
    package = os.path.dirname(os.path.abspath(driver.__file__))
    paths = [os.path.realpath(sys.executable), package]
    paths += sorted(os.path.join(package, name) for name in os.listdir(package) if name.endswith(".py"))
    paths += [p for p in sys.path if p and p != directory and os.path.isdir(p)]
    marks = []
    for path in paths:
        try:
            st = os.stat(path)
            marks.append((path, st.st_mtime_ns, st.st_size))
        except OSError:
            marks.append((path, None, None))
    return marks


def changed(before, now):
    """A sentence naming the first path whose mark changed, or None."""
    for old, new in zip(before, now):
        if old != new:
            return f"{old[0]} changed"
    return None if len(before) == len(now) else "the files of dkrun_dask changed"


class Stream:
    """A connection's socket as the file-like object frames.py reads."""

    def __init__(self, sock, first=b""):
        self.sock = sock
        self.pending = first

    def read(self, n):
        if self.pending:
            chunk, self.pending = self.pending[:n], self.pending[n:]
            return chunk
        return self.sock.recv(n)


class Server:
    def __init__(self, path):
        self.path = path
        self.pid_path = os.path.splitext(path)[0] + ".pid"
        self.idle = float(os.environ.get("DKRUN_DASK_WARM_DRIVER_IDLE") or IDLE_SECONDS)
        self.directory = os.getcwd()
        self.marks = fingerprint(self.directory)
        self.selector = selectors.PollSelector()  # no descriptor of its own for a child to inherit
        self.listener = None
        self.inode = None
        self.children = {}  # pid -> the connection of the run that asked for it
        self.last_activity = time.monotonic()
        self.stopping = False
        self.wakeup_read, self.wakeup_write = os.pipe()
        os.set_blocking(self.wakeup_write, False)

    def listen(self):
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)
        try:
            self.listener.bind(self.path)
        finally:
            os.umask(old)
        self.listener.listen(64)
        self.inode = os.stat(self.path).st_ino
        self.selector.register(self.listener, selectors.EVENT_READ, "accept")
        with open(self.pid_path, "w") as f:
            f.write(f"{os.getpid()}\n")

    def stop_listening(self):
        """Gives the socket up (removing its file and the pid file if they are still ours):
        the next run starts another server."""
        if self.listener is None:
            return
        self.selector.unregister(self.listener)
        try:
            if os.stat(self.path).st_ino == self.inode:
                os.unlink(self.path)
                os.unlink(self.pid_path)
        except OSError:
            pass
        self.listener.close()
        self.listener = None

    def serve(self):
        signal.set_wakeup_fd(self.wakeup_write)
        # Handlers only wake the loop up; the loop does the work.
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.signal(signal.SIGTERM, lambda *_: None)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        self.selector.register(self.wakeup_read, selectors.EVENT_READ, "signal")
        next_check = time.monotonic() + CHECK_SECONDS
        while self.listener is not None or self.children:
            for key, _ in self.selector.select(CHECK_SECONDS):
                if key.data == "accept":
                    self.accept()
                elif key.data == "signal":
                    if signal.SIGTERM in os.read(self.wakeup_read, 512):
                        self.stop_listening()
                        return
                    self.reap()
                else:
                    self.drop(key.fileobj)  # the client went away or wrote past its request
            now = time.monotonic()
            if now >= next_check:
                next_check = now + CHECK_SECONDS
                if not self.children and now - self.last_activity > self.idle:
                    self.stop_listening()
                elif self.listener is not None and not self.socket_is_ours():
                    self.stop_listening()

    def socket_is_ours(self):
        try:
            return os.stat(self.path).st_ino == self.inode
        except OSError:
            return False

    def accept(self):
        try:
            conn, _ = self.listener.accept()
        except BlockingIOError:
            return
        self.last_activity = time.monotonic()
        try:
            _, uid, _ = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))
            if uid != os.getuid():
                conn.sendall(_frame({"error": f"refused: the server serves uid {os.getuid()}, not {uid}"}))
                conn.close()
                return
            conn.settimeout(REQUEST_SECONDS)
            data, fds, _, _ = socket.recv_fds(conn, 1 << 16, 3)
            try:
                request = read_frame(Stream(conn, data))
                reason = changed(self.marks, fingerprint(self.directory))
                if reason is not None:
                    self.stop_listening()
                    conn.sendall(_frame({"stale": reason}))
                    conn.close()
                    return
                if request is None or request.get("op") != "fork" or len(fds) != 3:
                    conn.sendall(_frame({"error": "expected a fork request with three descriptors"}))
                    conn.close()
                    return
                pid = self.fork(conn, fds, request)
                self.children[pid] = None  # reaped even if the reply below fails
            finally:
                for fd in fds:
                    os.close(fd)
            conn.settimeout(None)
            conn.sendall(_frame({"pid": pid, "server": os.getpid()}))
        except Exception as e:  # a bad request or a client gone: the server serves on
            print(f"dkrun_dask.forkserver: a request failed: {e!r}", file=sys.stderr, flush=True)
            conn.close()
            return
        self.children[pid] = conn
        self.selector.register(conn, selectors.EVENT_READ, "client")

    def fork(self, conn, fds, request):
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            try:
                self.close_for_child(conn)
                become_driver(fds, request)
            except BaseException:  # before the driver ran: its stderr may be the run's by now
                import traceback
                traceback.print_exc()
            finally:
                os._exit(1)  # become_driver does not return
        # Here too, as a shell does: dkrun may signal the group before the child has made it.
        try:
            os.setpgid(pid, pid)
        except OSError:  # the child made it first, or has run and ended already
            pass
        return pid

    def close_for_child(self, conn):
        signal.set_wakeup_fd(-1)
        os.close(self.wakeup_read)
        os.close(self.wakeup_write)
        # Detached first: a socket object closing its number later could close a descriptor
        # the driver has opened since.
        for sock in [self.listener, conn, *self.children.values()]:
            if sock is not None:
                os.close(sock.detach())

    def reap(self):
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            conn = self.children.pop(pid, None)
            self.last_activity = time.monotonic()
            if conn is None:
                continue
            code = 128 + os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.waitstatus_to_exitcode(status)
            try:
                conn.sendall(_frame({"exit": code}))
            except OSError:
                pass  # the run has gone; its driver ended on its own
            self.selector.unregister(conn)
            conn.close()

    def drop(self, conn):
        """A client that closed its connection: its driver runs on (its stdin ends with
        dkrun), but nobody waits for its status."""
        try:
            if conn.recv(1):
                return
        except OSError:
            pass
        self.selector.unregister(conn)
        for pid, c in list(self.children.items()):
            if c is conn:
                self.children[pid] = None
        conn.close()


def _frame(value):
    body = pack(value)
    return struct.pack(">I", len(body)) + body


def become_driver(fds, request):
    """In the forked child: takes the run's descriptors, environment and directory, and runs
    the driver as ``python -m dkrun_dask.driver`` does."""
    os.setpgid(0, 0)
    for sig in [signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP]:
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    del sys.argv[1:]
    dask.config.refresh()  # the run's Dask configuration files, as a fresh process reads them
    # Run as __main__ from its source, as -m does: not the server's imported copy.
    del sys.modules["dkrun_dask.driver"]
    code = 0
    try:
        runpy.run_module("dkrun_dask.driver", run_name="__main__", alter_sys=True)
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except BaseException:
        import traceback
        traceback.print_exc()
        code = 1
    for stream in [sys.stdout, sys.stderr]:
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def main():
    server = Server(sys.argv[1])
    server.listen()
    os.write(1, b"ready\n")  # one write, whatever PYTHONUNBUFFERED says: dkrun reads one byte and goes
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
    server.serve()
    os._exit(0)  # nothing to flush, and an interpreter shutdown with distributed imported is slow


if __name__ == "__main__":
    main()
