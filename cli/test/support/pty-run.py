"""Runs a command on a pseudo-terminal (a real TTY, 120x40) and relays everything it writes to our
stdout; our exit code is the command's (128+N when a signal ended it). SIGINT sent to us is passed
to the command's process group, as a terminal's Ctrl-C would be."""
import fcntl, os, pty, signal, struct, sys, termios

pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
signal.signal(signal.SIGINT, lambda *_: os.killpg(pid, signal.SIGINT))
while True:
    try:
        data = os.read(fd, 65536)
    except InterruptedError:
        continue
    except OSError:
        break
    if not data:
        break
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()
while True:
    try:
        _, status = os.waitpid(pid, 0)
        break
    except InterruptedError:
        continue
sys.exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))
