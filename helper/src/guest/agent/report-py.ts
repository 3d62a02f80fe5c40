/**
 * The agent's reports (Python, part of hearth-agent: agent-script.ts joins the parts): facts read
 * from files — cloud-init's status, passwd, authorized_keys, /proc/net/tcp* — instead of running
 * programs (`cloud-init status`, `systemctl`, `ss`), which cost seconds of CPU under TCG.
 */
export const REPORT_PY = String.raw`def read_json(path):
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


`;
