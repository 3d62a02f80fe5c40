import { GUEST_CHANNEL_NAME, GUEST_CHANNEL_VSOCK_PORT } from '../vmm/driver.js';

/**
 * hearth-agent: runs inside the guest and reports its provisioning to hearthd over the VM's
 * private channel (virtio-serial under QEMU, vsock under Cloud Hypervisor). It only ever sends:
 * the status line of `agent-messages.ts`, every second until cloud-init has finished, then
 * every 30 s. Python 3 because every image with cloud-init has it; it reads cloud-init's own status
 * files instead of running `cloud-init status`, which costs seconds of CPU under TCG.
 *
 * Baked into local builds (images/local-build) and written by cloud-init's write_files on cloud
 * images (guest/user-data.ts), always at AGENT_PATH with AGENT_UNIT.
 */
export const AGENT_PATH = '/usr/local/lib/hearth/hearth-agent';
export const AGENT_UNIT_PATH = '/etc/systemd/system/hearth-agent.service';

export const AGENT_SCRIPT = String.raw`#!/usr/bin/python3
# hearth-agent: tells hearthd how this guest's provisioning goes. Installed by Hearth.
import errno, glob, json, os, socket, time

PORT = '/dev/virtio-ports/${GUEST_CHANNEL_NAME}'
VSOCK_PORT = ${GUEST_CHANNEL_VSOCK_PORT}
MAX_LINE = 4000


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


def message():
    status, stage, errors = cloud_init()
    line = json.dumps({'v': 1, 'type': 'status', 'stage': stage, 'cloudInit': status,
                       'errors': [e[:500] for e in errors[:8]], 'hostKeys': host_keys()})
    return status, (line[:MAX_LINE] + '\n').encode()


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
        status, data = message()
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
