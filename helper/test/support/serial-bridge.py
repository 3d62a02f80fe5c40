# Plays QEMU's virtio-serial port for the agent tests: a pty whose slave stands for
# /dev/virtio-ports/<name> (the agent opens it read-write, non-blocking; argv[1] becomes a link
# to it) and a Unix socket listener standing for QEMU's chardev socket (argv[2]), which hearthd
# connects to; bytes are relayed both ways. As with virtio-serial, the guest does not see hearthd
# come or go, and what the guest writes while nobody is connected is lost.
import os, selectors, socket, sys, tty

master, slave = os.openpty()
tty.setraw(slave)  # a byte pipe: no echo, no line discipline
os.set_blocking(master, False)
os.symlink(os.ttyname(slave), sys.argv[1])
listener = socket.socket(socket.AF_UNIX)
listener.bind(sys.argv[2])
listener.listen(4)
sel = selectors.DefaultSelector()
sel.register(listener, selectors.EVENT_READ, 'accept')
sel.register(master, selectors.EVENT_READ, 'guest')
conn = None
print('ready', flush=True)
while True:
    for key, _ in sel.select():
        if key.data == 'accept':
            if conn:
                sel.unregister(conn)
                conn.close()
            conn, _ = listener.accept()
            sel.register(conn, selectors.EVENT_READ, 'host')
        elif key.data == 'guest':
            try:
                data = os.read(master, 65536)
            except BlockingIOError:
                continue
            if conn:
                try:
                    conn.sendall(data)
                except OSError:
                    pass
        else:
            data = conn.recv(65536)
            if not data:
                sel.unregister(conn)
                conn.close()
                conn = None
                continue
            os.set_blocking(master, True)
            os.write(master, data)
            os.set_blocking(master, False)
