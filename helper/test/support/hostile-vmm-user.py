#!/usr/bin/python3
"""A hostile VMM user, for helper/test/hostile-vmm.test.ts. Run it as that user (setpriv).

It does what a compromised VMM could do with the user's rights: replace or add files at the
paths it owns, reach into its own VMM's open fds (pidfd_getfd: same uid, no Yama here), write
without end, and kill its VMM. It prints one JSON object: what each attempt did (an errno name,
or "ok"). It never opens the link targets it plants; the kernel refuses the plant first.

  probe '{"paths": [...], "dirs": [...], "sockets": [...], "target": ROOT_ONLY_FILE, "scratch": DIR, "append_mib": N}'
  flood '{"pid": P, "fds_to": ["console.log", ...], "paths": [...], "max_mib": N, "sparse": true}'
  kill  '{"pid": P}'
"""
import ctypes
import errno
import json
import os
import signal
import socket
import sys
import time

SYS_PIDFD_GETFD = 438
CHUNK = b"H" * (1 << 20)  # no newline: one endless line


def attempt(action):
    try:
        action()
        return "ok"
    except OSError as error:
        return errno.errorcode.get(error.errno, str(error.errno))


def append(path, mib):
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW)
    try:
        for _ in range(mib):
            os.write(fd, CHUNK)
    finally:
        os.close(fd)


def probe(args):
    target, scratch = args["target"], args["scratch"]
    result = {"paths": {}, "dirs": {}, "sockets": {}}
    for index, path in enumerate(args["paths"]):
        link = os.path.join(scratch, f"link-{index}")
        fifo = os.path.join(scratch, f"fifo-{index}")
        os.symlink(target, link)
        os.mkfifo(fifo, 0o666)
        result["paths"][path] = {
            "unlink": attempt(lambda: os.unlink(path)),
            "symlink-over": attempt(lambda: os.rename(link, path)),
            "fifo-over": attempt(lambda: os.rename(fifo, path)),
            "symlink-beside": attempt(lambda: os.symlink(target, path + ".1")),
            "fifo-beside": attempt(lambda: os.mkfifo(path + ".partial", 0o666)),
            "hardlink-target": attempt(lambda: os.link(target, path + ".new")),
            "chmod-0666": attempt(lambda: os.chmod(path, 0o666)),
            "append": attempt(lambda: append(path, args["append_mib"])),
        }
    for directory in args["dirs"]:
        new = os.path.join(directory, "hostile")
        result["dirs"][directory] = {
            "create": attempt(lambda: os.close(os.open(new, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))),
            "symlink": attempt(lambda: os.symlink(target, new)),
            "fifo": attempt(lambda: os.mkfifo(new, 0o666)),
            "list": attempt(lambda: os.listdir(directory)),
        }
    for path in args["sockets"]:
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        result["sockets"][path] = attempt(lambda: client.connect(path))
        client.close()
    return result


def stolen_fds(pid, names):
    """The VMM's own fds onto files named `names`, duplicated into this process."""
    libc = ctypes.CDLL(None, use_errno=True)
    pidfd = os.pidfd_open(pid)
    fds, reopened = {}, {}
    try:
        for entry in os.listdir(f"/proc/{pid}/fd"):
            try:
                where = os.readlink(f"/proc/{pid}/fd/{entry}")
            except OSError:
                continue
            name = os.path.basename(where)
            if name in names and name not in fds:
                # Reopening through /proc checks the file's own mode: root's 0600 file stays shut.
                reopened[name] = attempt(lambda: os.close(os.open(f"/proc/{pid}/fd/{entry}", os.O_WRONLY)))
                fd = libc.syscall(SYS_PIDFD_GETFD, pidfd, int(entry), 0)
                if fd < 0:
                    raise OSError(ctypes.get_errno(), f"pidfd_getfd {entry}")
                fds[name] = fd
    finally:
        os.close(pidfd)
    return fds, reopened


def flood(args):
    """Writes until SIGTERM (or max_mib per target), then a last line that a follow must deliver."""
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    targets, reopened = stolen_fds(args["pid"], set(args["fds_to"]))
    for path in args["paths"]:
        targets[path] = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW)
    written = {name: 0 for name in targets}
    sparse = {}
    if args.get("sparse"):
        # An "endless" file in an instant: extended to 1 TiB without a byte written.
        for name, fd in targets.items():
            sparse[name] = attempt(lambda: os.ftruncate(fd, os.fstat(fd).st_size + (1 << 40)))
    print(json.dumps({"started": sorted(targets)}), flush=True)
    while not stop and any(n < args["max_mib"] for n in written.values()):
        for name, fd in targets.items():
            if written[name] < args["max_mib"]:
                os.write(fd, CHUNK)
                written[name] += 1
    while not stop:
        time.sleep(0.05)
    for fd in targets.values():
        os.write(fd, b"\nHOSTILE-END\n")
        os.close(fd)
    return {"written_mib": written, "sparse": sparse, "reopened": reopened}


def main():
    command, args = sys.argv[1], json.loads(sys.argv[2])
    if command == "probe":
        out = probe(args)
    elif command == "flood":
        out = flood(args)
    elif command == "kill":
        out = {"kill": attempt(lambda: os.kill(args["pid"], signal.SIGKILL))}
    else:
        raise SystemExit(f"unknown command {command}")
    out["uid"] = os.getuid()
    print(json.dumps(out), flush=True)


main()
