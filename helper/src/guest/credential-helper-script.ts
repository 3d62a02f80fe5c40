import { CREDENTIAL_HELPER_PATH, CREDENTIAL_SOCKET } from './relay-paths.js';

export { CREDENTIAL_HELPER_PATH };

/**
 * git-credential-hearth: the guest's git credential helper (git's `credential.helper`). Nothing is
 * stored in the guest: for `get` it asks hearthd, through the agent's relay socket, and prints
 * the answer; `store` and `erase` do nothing and succeed.
 *
 * What goes over the socket (the `git-credential` stream hearthd serves): the action line `get`,
 * then git's attribute lines as git gave them (`key=value`, up to its blank line, which is not
 * sent), then a half-close; hearthd answers with attribute lines (or nothing: no credential) and
 * closes. The socket is reachable only by root and the environment's user (the agent's relay).
 * Python 3, stdlib only, like the agent; installed next to it.
 */
export const CREDENTIAL_HELPER_SCRIPT = String.raw`#!/usr/bin/python3
# git-credential-hearth: asks hearthd for a Git credential; stores nothing. Installed by Hearth.
import socket, sys

SOCKET = '${CREDENTIAL_SOCKET}'
MAX = 65536


def main():
    if len(sys.argv) != 2 or sys.argv[1] != 'get':
        return 0  # store, erase: nothing is kept in the guest
    request = bytearray(b'get\n')
    for line in sys.stdin.buffer:
        if line.strip(b'\r\n') == b'':
            break
        request += line if line.endswith(b'\n') else line + b'\n'
        if len(request) > MAX:
            sys.stderr.write('git-credential-hearth: the request is too long\n')
            return 1
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(60)
        s.connect(SOCKET)
        s.sendall(bytes(request))
        s.shutdown(socket.SHUT_WR)
        answer = bytearray()
        while len(answer) <= MAX:
            chunk = s.recv(65536)
            if not chunk:
                break
            answer += chunk
    except OSError as e:
        sys.stderr.write('git-credential-hearth: cannot reach hearthd: %s\n' % e.strerror)
        return 1
    sys.stdout.buffer.write(bytes(answer[:MAX]))
    return 0


if __name__ == '__main__':
    sys.exit(main())
`;
