import { GUEST_USER } from './account.js';
import { GUEST_CHANNEL_NAME, GUEST_CHANNEL_VSOCK_PORT } from '../vmm/driver.js';
import { READINESS_AGENT_VERSION } from './agent-messages.js';

/**
 * hearth-agent: runs inside the guest and reports to hearthd over the VM's private channel
 * (virtio-serial under QEMU, vsock under Cloud Hypervisor). It only ever sends, every second
 * until cloud-init has finished and then every 30 s, the two lines of `agent-messages.ts`:
 * `readiness` (is the guest usable: the user, its authorized keys, sshd listening) and `status`
 * (cloud-init's stage). Python 3 because every image with cloud-init has it; it reads files —
 * cloud-init's status, passwd, authorized_keys, /proc/net/tcp* — instead of running programs
 * (`cloud-init status`, `systemctl`, `ss`), which cost seconds of CPU under TCG.
 *
 * Baked into local builds (images/local-build), started at sysinit; on cloud images written and
 * started by the seed's bootcmd (guest/user-data.ts), always at AGENT_PATH.
 */
export const AGENT_PATH = '/usr/local/lib/hearth/hearth-agent';
export const AGENT_UNIT_PATH = '/etc/systemd/system/hearth-agent.service';

/**
 * This agent's version, announced in every `readiness` line. hearthd tells an older agent (one
 * that announces none) by it and falls back to cloud-init's end.
 */
export const AGENT_VERSION = READINESS_AGENT_VERSION;

export const AGENT_SCRIPT = String.raw`#!/usr/bin/python3
# hearth-agent: tells hearthd how this guest's provisioning goes. Installed by Hearth.
import base64, errno, glob, hashlib, json, os, pwd, re, socket, stat, time

VERSION = ${AGENT_VERSION}
USER = '${GUEST_USER}'
PORT = '/dev/virtio-ports/${GUEST_CHANNEL_NAME}'
VSOCK_PORT = ${GUEST_CHANNEL_VSOCK_PORT}
MAX_LINE = 4000
KEY_TYPE = re.compile(r'^(ssh-|ecdsa-|sk-)[a-z0-9@.-]+$')


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def cloud_init():
    """(status, stage, errors) from cloud-init's own files under /run/cloud-init."""
    result = read_json('/run/cloud-init/result.json')
    status = read_json('/run/cloud-init/status.json')
    v1 = (status or {}).get('v1') or {}
    stage = v1.get('stage')
    if not stage:
        done = [s for s in ('init-local', 'init', 'modules-config', 'modules-final') if (v1.get(s) or {}).get('finished')]
        stage = done[-1] if done else None
    if result is not None:
        errors = [str(e) for e in ((result.get('v1') or {}).get('errors') or [])]
        return ('error' if errors else 'done'), stage, errors
    if status is None:
        return 'waiting', None, []
    return 'running', stage, []


def host_keys():
    keys = []
    for path in sorted(glob.glob('/etc/ssh/ssh_host_*_key.pub'))[:4]:
        try:
            with open(path) as f:
                keys.append(' '.join(f.read().split()[:2])[:1000])
        except OSError:
            pass
    return keys


def user_home():
    """The developer user's home directory, or None while the user or its home does not exist."""
    try:
        home = pwd.getpwnam(USER).pw_dir
    except KeyError:
        return None
    return home if os.path.isdir(home) else None


def strict(path, uid):
    """As sshd's StrictModes: owned by the user or root, not writable by group or others."""
    st = os.stat(path)
    return st.st_uid in (uid, 0) and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def authorized_keys(home):
    """SHA256 fingerprints of the keys sshd would accept for USER, as ssh-keygen -l prints them."""
    path = os.path.join(home, '.ssh', 'authorized_keys')
    try:
        uid = pwd.getpwnam(USER).pw_uid
        if not (strict(path, uid) and strict(os.path.dirname(path), uid) and strict(home, uid)):
            return []
        with open(path) as f:
            lines = f.read(262144).splitlines()
    except (OSError, KeyError):
        return []
    prints = []
    for line in lines:
        words = line.split()
        # Options may come first ("no-pty,from=... ssh-ed25519 AAAA... comment"): find the type.
        for i, word in enumerate(words[:-1]):
            if KEY_TYPE.match(word):
                try:
                    blob = base64.b64decode(words[i + 1], validate=True)
                except ValueError:
                    break
                digest = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip('=')
                prints.append('SHA256:' + digest)
                break
    return prints[:16]


def listening(port):
    """Whether a TCP socket listens on port (IPv4 or IPv6), from the kernel's own tables."""
    for table in ('/proc/net/tcp', '/proc/net/tcp6'):
        try:
            with open(table) as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            # local_address is "ADDR:PORT" in hex; state 0A is LISTEN.
            if len(fields) > 3 and fields[3] == '0A' and fields[1].endswith(':%04X' % port):
                return True
    return False


def line(value):
    return (json.dumps(value)[:MAX_LINE] + '\n').encode()


def messages():
    """This second's report: readiness first, then cloud-init's status (both read now)."""
    status, stage, errors = cloud_init()
    keys = host_keys()
    home = user_home()
    readiness = {'v': 1, 'type': 'readiness', 'agent': VERSION, 'user': home is not None,
                 'authorizedKeys': authorized_keys(home) if home else [], 'sshd': listening(22),
                 'hostKeys': keys}
    report = {'v': 1, 'type': 'status', 'stage': stage, 'cloudInit': status,
              'errors': [e[:500] for e in errors[:8]], 'hostKeys': keys}
    return status, line(readiness) + line(report)


class Channel:
    def __init__(self):
        self.fd = None
        self.sock = None

    def send(self, data):
        if self.fd is None and self.sock is None:
            self.open()
        try:
            if self.fd is not None:
                os.write(self.fd, data)
            else:
                self.sock.sendall(data)
            return True
        except OSError as e:
            # EAGAIN: hearthd is not connected right now; it hears the next one.
            if e.errno != errno.EAGAIN:
                self.close()
            return False

    def open(self):
        if os.path.exists(PORT):
            self.fd = os.open(PORT, os.O_WRONLY | os.O_NONBLOCK)
        elif hasattr(socket, 'AF_VSOCK'):
            s = socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)
            s.settimeout(5)
            s.connect((socket.VMADDR_CID_HOST, VSOCK_PORT))
            self.sock = s
        else:
            raise OSError(errno.ENODEV, 'no hearth channel')

    def close(self):
        for close in (lambda: os.close(self.fd), lambda: self.sock.close()):
            try:
                close()
            except Exception:
                pass
        self.fd = self.sock = None


def main():
    channel = Channel()
    while True:
        status, data = messages()
        try:
            channel.send(data)
        except OSError:
            channel.close()
        time.sleep(30 if status in ('done', 'error') else 1)


if __name__ == '__main__':
    main()
`;

/** Starts with the guest, before cloud-init, so even a cloud-init that never starts is reported as waiting. */
export const AGENT_UNIT = `[Unit]
Description=Hearth guest agent (reports provisioning to hearthd)
DefaultDependencies=no
After=local-fs.target

[Service]
ExecStart=/usr/bin/python3 ${AGENT_PATH}
Restart=always
RestartSec=2

[Install]
WantedBy=sysinit.target
`;
