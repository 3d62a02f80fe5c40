/**
 * The agent's streams (Python, part of hearth-agent: agent-script.ts joins the parts): the window
 * protocol's guest side, `exec` (a process as root or the developer user, with a clean
 * environment) and the relays (`git-credential`, `ssh-agent`: Unix sockets in RUN_DIR that only
 * root and the developer user pass SO_PEERCRED for, each connection a guest-opened stream).
 */
export const STREAMS_PY = String.raw`def b64(data):
    return base64.b64encode(data).decode()


class Stream:
    """One multiplexed stream, the agent's side: credit to send (hearthd's windows) and credit granted."""

    def __init__(self, agent, sid, credit):
        self.agent, self.id, self.credit = agent, sid, credit
        self.granted = 0            # what hearthd may still send before our next window frame
        self.pending = bytearray()  # received from hearthd, not yet written on
        self.eof_in = False         # hearthd half-closed
        self.closed = False

    def send(self, value):
        self.agent.send(value)

    def reading(self):
        return self.credit > 0 and not self.closed and not self.agent.link.congested

    def grant(self):
        if self.closed or self.eof_in:
            return
        room = WINDOW - self.granted - len(self.pending)
        if room >= WINDOW // 4:
            self.granted += room
            self.send({'type': 'window', 'stream': self.id, 'bytes': room})

    def received(self, data):
        if self.eof_in or len(data) > self.granted:
            return False
        self.granted -= len(data)
        self.pending += data
        self.drain()
        return True

    def host_eof(self):
        self.eof_in = True
        self.drain()

    def end(self, value):
        """Sends the stream's last frame and lets go of everything it holds."""
        if not self.closed:
            self.send(dict(value, type='close', stream=self.id))
        self.abort()
        self.agent.streams.pop(self.id, None)

    def reset(self, why):
        self.end({'error': why})


class Exec(Stream):
    """A process run for hearthd: stdout and stderr out as data (fd 1, 2), stdin in; ends with close{exit}."""

    def start(self, p):
        argv, user, env = p.get('argv'), p.get('user'), p.get('env') or {}
        if user not in ('root', USER):
            raise ValueError('runs only as root or %s' % USER)
        if not (isinstance(argv, list) and argv and all(isinstance(a, str) and a and '\0' not in a for a in argv)):
            raise ValueError('argv is not a list of strings')
        if not isinstance(env, dict) or not all(isinstance(k, str) and ENV_NAME.match(k) and isinstance(v, str)
                                                and '\0' not in v for k, v in env.items()):
            raise ValueError('env is not a map of names to strings')
        pw = pwd.getpwnam(user)
        clean = {'HOME': pw.pw_dir, 'USER': user, 'LOGNAME': user, 'LANG': 'C.UTF-8',
                 'PATH': ROOT_PATH if pw.pw_uid == 0 else USER_PATH}
        clean.update(env)
        self.stdin = bool(p.get('stdin'))
        self.proc = subprocess.Popen(
            argv, cwd=p.get('cwd') or pw.pw_dir, env=clean, close_fds=True, start_new_session=True,
            stdin=subprocess.PIPE if self.stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            user=pw.pw_uid, group=pw.pw_gid, extra_groups=os.getgrouplist(user, pw.pw_gid))
        self.sources = {1: self.proc.stdout, 2: self.proc.stderr}
        self.handlers = {n: (lambda mask, n=n: self.readable(n)) for n in self.sources}
        for f in self.sources.values():
            os.set_blocking(f.fileno(), False)
        if self.stdin:
            os.set_blocking(self.proc.stdin.fileno(), False)
            self.grant()
        self.update()

    def update(self):
        for n, f in self.sources.items():
            self.agent.loop.watch(f.fileno(), selectors.EVENT_READ if self.reading() else 0, self.handlers[n])
        if self.stdin and not self.proc.stdin.closed and not self.closed:
            self.agent.loop.watch(self.proc.stdin.fileno(), selectors.EVENT_WRITE if self.pending else 0,
                                  lambda mask: self.drain())

    def readable(self, n):
        f = self.sources.get(n)
        if f is None or not self.reading():
            return
        try:
            data = os.read(f.fileno(), min(self.credit, DATA_MAX))
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b''
        if not data:
            self.agent.loop.forget(f.fileno())
            f.close()
            del self.sources[n]
            return
        self.credit -= len(data)
        self.send({'type': 'data', 'stream': self.id, 'fd': n, 'data': b64(data)})
        self.update()

    def drain(self):
        stdin = self.proc.stdin if self.stdin else None
        if stdin is None or stdin.closed:
            self.pending = bytearray()
            return
        try:
            while self.pending:
                del self.pending[:os.write(stdin.fileno(), self.pending)]
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:  # the process closed its stdin: what it did not read is dropped
            self.pending = bytearray()
        if self.eof_in and not self.pending:
            self.agent.loop.forget(stdin.fileno())
            stdin.close()
            return
        self.grant()
        self.update()

    def signal(self, name):
        if name in ('KILL', 'TERM', 'INT', 'HUP'):
            try:
                os.killpg(self.proc.pid, getattr(signal, 'SIG' + name))
            except OSError:
                pass

    def exiting(self):
        return not self.closed and not self.sources

    def reap(self):
        rc = self.proc.poll()
        if rc is None:
            return
        status = {'code': rc, 'signal': None} if rc >= 0 else {'code': None, 'signal': signal.Signals(-rc).name}
        self.end({'exit': status})

    def abort(self):
        if self.closed:
            return
        self.closed = True
        if self.proc.poll() is None:
            self.signal('KILL')
        for f in list(self.sources.values()) + ([self.proc.stdin] if self.stdin else []):
            if f and not f.closed:
                self.agent.loop.forget(f.fileno())
                f.close()
        self.sources = {}
        if self.proc.poll() is None:
            self.agent.zombies.append(self.proc)  # reaped by the loop: never wait here


class Relay(Stream):
    """One connection to a relay socket, as a stream the guest opens: bytes both ways, half-close as shutdown."""

    def __init__(self, agent, sid, conn, kind):
        super().__init__(agent, sid, 0)
        self.conn, self.kind = conn, kind
        self.eof_out = False  # the client half-closed, and hearthd was told
        self.shut = False     # hearthd's eof, passed on as shutdown(SHUT_WR)

    def start(self):
        self.granted = WINDOW
        self.send({'type': 'open', 'stream': self.id, 'kind': self.kind, 'params': {}, 'window': WINDOW})
        self.update()

    def update(self):
        if self.closed:
            return
        events = (selectors.EVENT_READ if self.reading() and not self.eof_out else 0) | \
                 (selectors.EVENT_WRITE if self.pending else 0)
        self.agent.loop.watch(self.conn, events, self.ready)

    def ready(self, mask):
        if mask & selectors.EVENT_WRITE:
            self.drain()
        if mask & selectors.EVENT_READ and not self.closed and self.reading():
            try:
                data = self.conn.recv(min(self.credit, DATA_MAX))
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                data = b''
            if data:
                self.credit -= len(data)
                self.send({'type': 'data', 'stream': self.id, 'data': b64(data)})
            else:
                self.eof_out = True
                self.send({'type': 'eof', 'stream': self.id})
            self.update()
            self.done()

    def drain(self):
        if self.closed:
            return
        try:
            while self.pending:
                del self.pending[:self.conn.send(self.pending)]
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            self.reset('the client went away')
            return
        if self.eof_in and not self.pending and not self.shut:
            self.shut = True
            try:
                self.conn.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        self.grant()
        self.update()
        self.done()

    def done(self):
        if self.eof_out and self.shut and not self.closed:
            self.end({})

    def abort(self):
        if self.closed:
            return
        self.closed = True
        self.agent.loop.forget(self.conn)
        self.conn.close()


class Relays:
    """The Unix sockets the guest's git and ssh reach hearthd through, once the developer user exists."""

    def __init__(self, agent):
        self.agent = agent
        self.listeners = []
        self.uid = None

    def ensure(self):
        if self.listeners:
            return
        try:
            pw = pwd.getpwnam(USER)
        except KeyError:
            return
        try:
            self.listen(pw)
        except OSError as e:
            log('relay sockets: %s' % e)
            for s in self.listeners:
                self.agent.loop.forget(s)
                s.close()
            self.listeners = []

    def listen(self, pw):
        try:
            os.mkdir(RUN_DIR, 0o750)
        except FileExistsError:
            pass
        if not stat.S_ISDIR(os.lstat(RUN_DIR).st_mode):
            raise OSError(errno.ENOTDIR, '%s is not a directory' % RUN_DIR)
        # Only root and the developer user's group may pass: no other guest user reaches a socket.
        os.chown(RUN_DIR, 0, pw.pw_gid, follow_symlinks=False)
        os.chmod(RUN_DIR, 0o750)
        self.uid = pw.pw_uid
        for kind, name in RELAYS:
            path = os.path.join(RUN_DIR, name)
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.listeners.append(s)
            s.bind(path)
            os.chown(path, 0, pw.pw_gid, follow_symlinks=False)
            os.chmod(path, 0o660)
            s.listen(16)
            s.setblocking(False)
            self.agent.loop.watch(s, selectors.EVENT_READ, lambda mask, s=s, kind=kind: self.accept(s, kind))

    def accept(self, s, kind):
        try:
            conn, _ = s.accept()
        except (BlockingIOError, InterruptedError):
            return
        pid, uid, _ = struct.unpack('3i', conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize('3i')))
        relays = sum(1 for x in self.agent.streams.values() if isinstance(x, Relay))
        if uid not in (0, self.uid):
            log('refused a %s connection from uid %d (pid %d): only root and %s may use it' % (kind, uid, pid, USER))
            conn.close()
        elif not self.agent.link.up or relays >= MAX_RELAYS:
            conn.close()
        else:
            conn.setblocking(False)
            sid = self.agent.new_id()
            stream = Relay(self.agent, sid, conn, kind)
            self.agent.streams[sid] = stream
            stream.start()
`;
