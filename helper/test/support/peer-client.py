"""API callers that try to pass for someone else, for helper/test/caller-identity.test.ts.

Each mode creates an environment (start false) named NAME over hearthd's socket and prints one
JSON line: the environment's owner as hearthd recorded it, and who actually sent the request.

  request SOCKET NAME [BIND]       connect (after binding the client socket to BIND) and send
  exec-with SOCKET PROGRAM NAME    connect, then exec PROGRAM (this script, send-on) keeping the fd
  send-on FD NAME                  send over an inherited connection
  pass SOCKET NAME CONNECTOR SENDER  (as root) a CONNECTOR-uid process connects and passes the fd
                                   with SCM_RIGHTS to a SENDER-uid process, which sends
"""

import json
import os
import socket
import sys


def create(sock, name):
    body = json.dumps({"name": name, "class": "tiny", "start": False}).encode()
    head = (
        "POST /v1/environments HTTP/1.1\r\nHost: hearthd\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    sock.sendall(head + body)
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    status = data.split(b" ", 2)[1].decode()
    reply = json.loads(data.split(b"\r\n\r\n", 1)[1])
    with open("/proc/self/comm") as comm:
        sender = {"uid": os.getuid(), "euid": os.geteuid(), "comm": comm.read().strip()}
    print(json.dumps({"status": status, "owner": reply.get("owner"), "reply": reply, "sender": sender}))


def become(uid):
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)


def main(mode, *args):
    if mode == "request":
        path, name, *bind = args
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        if bind:
            sock.bind(bind[0])
        sock.connect(path)
        create(sock, name)
    elif mode == "exec-with":
        path, program, name = args
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(path)
        sock.set_inheritable(True)
        os.execv(program, [program, __file__, "send-on", str(sock.fileno()), name])
    elif mode == "send-on":
        fd, name = args
        create(socket.socket(fileno=int(fd)), name)
    elif mode == "pass":
        path, name, connector, sender = args
        ours, theirs = socket.socketpair()
        if os.fork() == 0:
            become(int(connector))
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(path)
            socket.send_fds(ours, [b"x"], [sock.fileno()])
            sock.close()
            # Stays alive until the sender is done: the connection is still attributable to it.
            ours.recv(1)
            os._exit(0)
        if os.fork() == 0:
            become(int(sender))
            _, fds, _, _ = socket.recv_fds(theirs, 1, 1)
            create(socket.socket(fileno=fds[0]), name)
            sys.stdout.flush()
            theirs.send(b"d")
            os._exit(0)
        os.wait()
        os.wait()
    else:
        sys.exit(f"unknown mode {mode}")


main(*sys.argv[1:])
