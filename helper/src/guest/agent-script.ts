import { GUEST_USER } from './account.js';
import { GUEST_CHANNEL_NAME, GUEST_CHANNEL_VSOCK_PORT } from '../vmm/driver.js';
import { LINK_PY } from './agent/link-py.js';
import { REPORT_PY } from './agent/report-py.js';
import { STREAMS_PY } from './agent/streams-py.js';
import {
  DATA_FRAME_MAX_BYTES,
  FRAME_LINE_MAX_BYTES,
  MAX_STREAMS,
  PROTOCOL_VERSION,
  STREAM_WINDOW_BYTES,
} from './protocol/frames.js';
import { STREAM_KINDS } from './protocol/kinds.js';
import { RELAY_DIR, RELAY_SOCKETS } from './relay-paths.js';

/**
 * hearth-agent: runs inside the guest and talks with hearthd over the VM's private channel
 * (virtio-serial under QEMU, vsock under Cloud Hypervisor). It sends, every second until
 * cloud-init has finished and then every 30 s, the two reports of `agent-messages.ts`:
 * `readiness` (is the guest usable: the user, its authorized keys, sshd listening) and `status`
 * (cloud-init's stage); and it speaks protocol v2 (protocol/frames.ts): its hello, requests,
 * `exec` streams for hearthd and the relays of git credentials and the SSH agent.
 * Python 3 (stdlib only) because every image with cloud-init has it; one file in the guest,
 * written here in parts (agent/*-py.ts), each under 400 lines.
 *
 * Baked into local builds (images/local-build), started at sysinit; on cloud images written and
 * started by the seed's bootcmd (guest/user-data.ts), always at AGENT_PATH.
 */
export const AGENT_PATH = '/usr/local/lib/hearth/hearth-agent';
export const AGENT_UNIT_PATH = '/etc/systemd/system/hearth-agent.service';

/**
 * This agent's version, announced in every `readiness` line and in its hello. hearthd tells an
 * older agent by it: version 1 announces none (hearthd falls back to cloud-init's end), version 2
 * reports readiness but says no hello (protocol v1 only: v2 features are refused as too old),
 * version 3 speaks protocol v2.
 */
export const AGENT_VERSION = 3;
/** What this agent's hello offers: hearthd refuses a feature the peer does not list. */
export const AGENT_FEATURES = ['exec', 'git-credential', 'ssh-agent'] as const;

export const AGENT_SCRIPT = String.raw`#!/usr/bin/python3
# hearth-agent: tells hearthd how this guest's provisioning goes, and serves its channel. Installed by Hearth.
import base64, errno, glob, hashlib, json, os, pwd, re, selectors, signal, socket, stat, struct, subprocess, sys, time

VERSION = ${AGENT_VERSION}
PROTOCOL = ${PROTOCOL_VERSION}
USER = '${GUEST_USER}'
# Test-only overrides: the agent runs as a systemd unit whose environment is fixed (root's unit
# file, or the transient unit the bootcmd starts), so nothing in a guest sets these for it.
PORT = os.environ.get('HEARTH_AGENT_PORT') or '/dev/virtio-ports/${GUEST_CHANNEL_NAME}'
RUN_DIR = os.environ.get('HEARTH_AGENT_RUN_DIR') or '${RELAY_DIR}'
VSOCK_PORT = ${GUEST_CHANNEL_VSOCK_PORT}
MAX_LINE = 4000
MAX_FRAME = ${FRAME_LINE_MAX_BYTES}
DATA_MAX = ${DATA_FRAME_MAX_BYTES}
WINDOW = ${STREAM_WINDOW_BYTES}
MAX_STREAMS = ${MAX_STREAMS}
MAX_RELAYS = 64
OUT_HIGH = 1 << 20
FEATURES = ${JSON.stringify(AGENT_FEATURES)}
KINDS = ${JSON.stringify(STREAM_KINDS)}
RELAYS = ${JSON.stringify(RELAY_SOCKETS.map((r) => [r.kind, r.name]))}
ENV_NAME = re.compile(r'^[A-Za-z_][A-Za-z0-9_]{0,127}$')
ROOT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
USER_PATH = '/usr/local/bin:/usr/bin:/bin'
KEY_TYPE = re.compile(r'^(ssh-|ecdsa-|sk-)[a-z0-9@.-]+$')

${REPORT_PY}
${STREAMS_PY}
${LINK_PY}`;

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
