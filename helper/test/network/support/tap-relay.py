#!/usr/bin/python3
"""Opens a TAP as a VMM does (TUNSETIFF on /dev/net/tun) and relays its frames: each frame on
stdin and stdout is a 2-byte big-endian length and the bytes. An empty frame on stdout says the
TAP is open. Attack tests drive a guest's side of the network through it."""
import fcntl
import os
import struct
import sys
import threading

TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000

fd = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", sys.argv[1].encode(), IFF_TAP | IFF_NO_PI))
out = sys.stdout.buffer
lock = threading.Lock()


def emit(frame):
    with lock:
        out.write(struct.pack(">H", len(frame)) + frame)
        out.flush()


def from_tap():
    while True:
        emit(os.read(fd, 65536))


threading.Thread(target=from_tap, daemon=True).start()
emit(b"")
source = sys.stdin.buffer
while True:
    head = source.read(2)
    if len(head) < 2:
        break
    (length,) = struct.unpack(">H", head)
    os.write(fd, source.read(length))
