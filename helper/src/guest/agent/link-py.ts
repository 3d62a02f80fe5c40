/**
 * The agent's channel (Python, part of hearth-agent: agent-script.ts joins the parts): one selectors
 * loop; the link to hearthd (the virtio-serial port opened read-write and non-blocking, or a vsock
 * connection) read as lines of at most MAX_FRAME bytes; the frames hearthd sends dispatched to
 * requests and streams; the reports sent every second until cloud-init is done, then every 30 s.
 */
export const LINK_PY = String.raw`def log(message):
    sys.stderr.write('hearth-agent: %s\n' % message)
    sys.stderr.flush()


def frame(value):
    return (json.dumps(value, separators=(',', ':')) + '\n').encode()


class Loop:
    """One selectors loop: every fd the agent watches, with the handler called when it is ready."""

    def __init__(self):
        self.sel = selectors.DefaultSelector()

    def watch(self, fileobj, events, handler):
        try:
            key = self.sel.get_key(fileobj)
        except (KeyError, ValueError):
            key = None
        if key is None and events:
            self.sel.register(fileobj, events, handler)
        elif key is not None and not events:
            self.sel.unregister(fileobj)
        elif key is not None and (key.events != events or key.data is not handler):
            self.sel.modify(fileobj, events, handler)

    def forget(self, fileobj):
        self.watch(fileobj, 0, None)

    def run_once(self, timeout):
        for key, mask in self.sel.select(timeout):
            try:
                key.data(mask)
            except Exception as e:  # one bad stream must not end the agent
                log('handler failed: %r' % (e,))


class Link:
    """The channel to hearthd: the virtio-serial port, read-write (QEMU), or a vsock connection (Cloud Hypervisor)."""

    def __init__(self, agent):
        self.agent = agent
        self.fd = None
        self.sock = None
        self.inbuf = bytearray()
        self.discarding = False
        self.out = bytearray()
        self.retry_at = 0

    @property
    def up(self):
        return self.fd is not None or self.sock is not None

    @property
    def congested(self):
        return len(self.out) > OUT_HIGH

    def fileno(self):
        return self.fd if self.fd is not None else self.sock.fileno()

    def ensure(self):
        if self.up or time.monotonic() < self.retry_at:
            return
        try:
            self.open()
        except OSError as e:
            self.close()
            self.retry_at = time.monotonic() + 1
            return
        self.agent.loop.watch(self.fileno(), selectors.EVENT_READ, self.ready)
        self.send(self.agent.hello())
        if self.sock is not None:  # a connection is hearthd (a port is not): the newest reports at once
            self.agent.next_report = 0

    def open(self):
        if os.path.exists(PORT) and not stat.S_ISSOCK(os.stat(PORT).st_mode):
            self.fd = os.open(PORT, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
            return
        if os.path.exists(PORT):  # tests: a Unix socket stands for the port
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(PORT)
        elif hasattr(socket, 'AF_VSOCK'):
            s = socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)
            s.settimeout(5)
            s.connect((socket.VMADDR_CID_HOST, VSOCK_PORT))
        else:
            raise OSError(errno.ENODEV, 'no hearth channel')
        s.setblocking(False)
        self.sock = s

    def close(self):
        if self.up:
            self.agent.loop.forget(self.fileno())
        for close in (lambda: os.close(self.fd), lambda: self.sock.close()):
            try:
                close()
            except Exception:
                pass
        self.fd = self.sock = None
        self.inbuf = bytearray()
        self.out = bytearray()

    def lost(self):
        """hearthd is gone (virtio-serial reads EOF while no host is attached): its streams too; try again in a second."""
        self.close()
        self.agent.drop_streams()
        self.retry_at = time.monotonic() + 1

    def send(self, data):
        if not self.up:
            return False
        was = self.congested
        self.out += data
        self.flush()
        if self.congested != was:
            self.agent.congestion_changed()
        return True

    def flush(self):
        was = self.congested
        try:
            while self.out:
                n = os.write(self.fd, self.out) if self.fd is not None else self.sock.send(self.out)
                del self.out[:n]
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            self.lost()
            return
        events = selectors.EVENT_READ | (selectors.EVENT_WRITE if self.out else 0)
        self.agent.loop.watch(self.fileno(), events, self.ready)
        if was and not self.congested:
            self.agent.congestion_changed()

    def ready(self, mask):
        if mask & selectors.EVENT_WRITE:
            self.flush()
        if not self.up or not mask & selectors.EVENT_READ:
            return
        try:
            data = os.read(self.fd, 65536) if self.fd is not None else self.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b''
        if not data:
            self.lost()
            return
        self.take(data)

    def take(self, data):
        start = 0
        while start < len(data):
            nl = data.find(b'\n', start)
            end = len(data) if nl < 0 else nl
            if not self.discarding:
                self.inbuf += data[start:end]
                if len(self.inbuf) > MAX_FRAME:
                    self.inbuf = bytearray()
                    self.discarding = True
            if nl < 0:
                return
            line, self.inbuf, self.discarding = bytes(self.inbuf), bytearray(), False
            start = nl + 1
            if not line:
                continue
            try:
                value = json.loads(line)
            except ValueError:
                continue  # a line cut when hearthd attached mid-stream
            if isinstance(value, dict):
                try:
                    self.agent.frame(value)
                except Exception as e:
                    log('frame %r failed: %r' % (value.get('type'), e))


class Agent:
    def __init__(self):
        self.loop = Loop()
        self.link = Link(self)
        self.session = os.urandom(16).hex()
        self.streams = {}
        self.next_id = 1
        self.relays = Relays(self)
        self.zombies = []  # processes of dropped streams, killed, not yet reaped
        self.next_report = 0

    def hello(self):
        return frame({'type': 'hello', 'protocol': PROTOCOL, 'agent': VERSION, 'session': self.session,
                      'features': FEATURES})

    def send(self, value):
        return self.link.send(frame(value))

    def drop_streams(self):
        for stream in list(self.streams.values()):
            stream.abort()
        self.streams.clear()

    def congestion_changed(self):
        for stream in list(self.streams.values()):
            stream.update()

    def new_id(self):
        sid, self.next_id = self.next_id, self.next_id + 2
        return sid

    def frame(self, f):
        kind = f.get('type')
        if kind == 'hello':
            # hearthd (re)attached: what it had of us is gone, so are our streams of then.
            self.drop_streams()
            self.link.send(self.hello())
            self.next_report = 0  # hearthd is there: the newest reports at once, not in up to 30 s
        elif kind == 'request':
            self.request(f)
        elif kind == 'open':
            self.open(f)
        elif kind in ('data', 'window', 'eof', 'close'):
            stream = self.streams.get(f.get('stream'))
            if stream is None:
                return
            if kind == 'data':
                data = base64.b64decode(f.get('data', ''), validate=True)
                if not stream.received(data):
                    stream.reset('data beyond credit')
            elif kind == 'window':
                stream.credit += max(0, int(f.get('bytes', 0)))
                stream.update()
            elif kind == 'eof':
                stream.host_eof()
            else:
                stream.abort()
                self.streams.pop(stream.id, None)

    def request(self, f):
        rid, method, params = f.get('id'), f.get('method'), f.get('params') or {}
        if method == 'ping':
            self.send({'type': 'response', 'id': rid, 'result': {}})
        elif method == 'signal' and isinstance(self.streams.get(params.get('stream')), Exec):
            self.streams[params['stream']].signal(params.get('signal'))
            self.send({'type': 'response', 'id': rid, 'result': {}})
        else:
            self.send({'type': 'response', 'id': rid,
                       'error': {'code': 'unknown-method', 'message': 'the agent has no method %s' % method}})

    def open(self, f):
        sid, kind = f.get('stream'), f.get('kind')
        refuse = None
        if not isinstance(sid, int) or sid <= 0 or sid % 2 or sid in self.streams:
            refuse = 'refused: not a stream id of hearthd'
        elif KINDS.get(kind) != 'host':
            refuse = 'refused: hearthd may not open this stream'
        elif len(self.streams) >= MAX_STREAMS:
            refuse = 'refused: too many streams'
        if refuse:
            self.send({'type': 'close', 'stream': sid, 'error': refuse})
            return
        stream = Exec(self, sid, int(f.get('window', 0)))
        self.streams[sid] = stream
        try:
            stream.start(f.get('params') or {})
        except Exception as e:
            self.streams.pop(sid, None)
            self.send({'type': 'close', 'stream': sid, 'error': ('cannot run: %s' % (e,))[:500]})

    def run(self):
        while True:
            self.link.ensure()
            now = time.monotonic()
            if now >= self.next_report:
                status, data = messages()
                if not self.link.congested:
                    self.link.send(data)
                self.relays.ensure()
                self.next_report = now + (30 if status in ('done', 'error') else 1)
            exiting = [s for s in self.streams.values() if isinstance(s, Exec) and s.exiting()]
            for s in exiting:
                s.reap()
            self.zombies = [p for p in self.zombies if p.poll() is None]
            wait = max(0, min(self.next_report - now, 1, self.link.retry_at - now if not self.link.up else 1))
            self.loop.run_once(0.05 if exiting or self.zombies else wait)


def main():
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    Agent().run()


if __name__ == '__main__':
    main()
`;
