/**
 * A small builder and reader of the frames the attack tests send from a guest's TAP: Ethernet,
 * ARP-free IPv4 (the host's neighbour entries are set by the test), UDP, ICMP echo, DHCP and DNS.
 * Only the fields the tests need; checksums where the receiver checks them.
 */

export function macBytes(mac: string): Buffer {
  const bytes = Buffer.from(mac.split(':').map((h) => parseInt(h, 16)));
  if (bytes.length !== 6) throw new Error(`not a MAC: ${mac}`);
  return bytes;
}

export function macText(bytes: Buffer): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

export function ipBytes(address: string): Buffer {
  return Buffer.from(address.split('.').map(Number));
}

export const ETH_IP = 0x0800;
export const BROADCAST = 'ff:ff:ff:ff:ff:ff';
/** 802.1AB LLDP and 802.1X PAE: link-local groups a bridge never forwards but did learn from. */
export const LLDP_GROUP = '01:80:c2:00:00:0e';
export const PAE_GROUP = '01:80:c2:00:00:03';

export function ethernet(dst: string, src: string, type: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(14);
  macBytes(dst).copy(header, 0);
  macBytes(src).copy(header, 6);
  header.writeUInt16BE(type, 12);
  const frame = Buffer.concat([header, payload]);
  return frame.length < 60 ? Buffer.concat([frame, Buffer.alloc(60 - frame.length)]) : frame;
}

function checksum(data: Buffer): number {
  let sum = 0;
  for (let i = 0; i < data.length; i += 2) sum += (data[i]! << 8) + (data[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export function ipv4(src: string, dst: string, protocol: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(20);
  header[0] = 0x45;
  header.writeUInt16BE(20 + payload.length, 2);
  header.writeUInt16BE(Math.floor(Math.random() * 0xffff), 4);
  header[8] = 64;
  header[9] = protocol;
  ipBytes(src).copy(header, 12);
  ipBytes(dst).copy(header, 16);
  header.writeUInt16BE(checksum(header), 10);
  return Buffer.concat([header, payload]);
}

/** UDP without a checksum (0: none, which IPv4 allows). */
export function udp(sport: number, dport: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt16BE(sport, 0);
  header.writeUInt16BE(dport, 2);
  header.writeUInt16BE(8 + payload.length, 4);
  return Buffer.concat([header, payload]);
}

export function icmpEcho(id: number, seq: number): Buffer {
  const message = Buffer.alloc(16);
  message[0] = 8;
  message.writeUInt16BE(id, 4);
  message.writeUInt16BE(seq, 6);
  message.writeUInt16BE(checksum(message), 2);
  return message;
}

/** A link-local control frame (LLDP or EAPOL-Start) from `src`. */
export function linkLocal(group: string, src: string): Buffer {
  return group === PAE_GROUP
    ? ethernet(group, src, 0x888e, Buffer.from([0x01, 0x01, 0x00, 0x00]))
    : ethernet(group, src, 0x88cc, Buffer.from([0x02, 0x07, 0x04, ...macBytes(src), 0x00, 0x00]));
}

export const DHCP = { DISCOVER: 1, OFFER: 2, REQUEST: 3, DECLINE: 4, ACK: 5, NAK: 6, RELEASE: 7 } as const;

export interface DhcpFields {
  type: number;
  chaddr: string;
  xid?: number;
  ciaddr?: string;
  requested?: string;
  serverId?: string;
  broadcast?: boolean;
}

/** A BOOTP/DHCP client message (RFC 2131), options 53, 50 and 54 as given. */
export function dhcpMessage(f: DhcpFields): Buffer {
  const bootp = Buffer.alloc(236);
  bootp[0] = 1; // BOOTREQUEST
  bootp[1] = 1; // Ethernet
  bootp[2] = 6;
  bootp.writeUInt32BE(f.xid ?? Math.floor(Math.random() * 0xffffffff), 4);
  if (f.broadcast) bootp.writeUInt16BE(0x8000, 10);
  ipBytes(f.ciaddr ?? '0.0.0.0').copy(bootp, 12);
  macBytes(f.chaddr).copy(bootp, 28);
  const options = [0x63, 0x82, 0x53, 0x63, 53, 1, f.type];
  if (f.requested) options.push(50, 4, ...ipBytes(f.requested));
  if (f.serverId) options.push(54, 4, ...ipBytes(f.serverId));
  options.push(255);
  return Buffer.concat([bootp, Buffer.from(options)]);
}

/** A whole DHCP frame from a guest that has no address yet (0.0.0.0 to broadcast). */
export function dhcpFrame(srcMac: string, fields: DhcpFields): Buffer {
  return ethernet(BROADCAST, srcMac, ETH_IP, ipv4('0.0.0.0', '255.255.255.255', 17, udp(68, 67, dhcpMessage(fields))));
}

export function dnsQuery(id: number, name: string, qtype: 'A' | 'PTR'): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x0100, 2); // recursion desired
  header.writeUInt16BE(1, 4);
  const labels = name.split('.').flatMap((l) => [l.length, ...Buffer.from(l)]);
  const question = Buffer.from([...labels, 0, 0, qtype === 'A' ? 1 : 12, 0, 1]);
  return Buffer.concat([header, question]);
}

export interface Parsed {
  dst: string;
  src: string;
  type: number;
  ip?: { src: string; dst: string; protocol: number; payload: Buffer };
  udp?: { sport: number; dport: number; payload: Buffer };
}

export function parseFrame(frame: Buffer): Parsed {
  const parsed: Parsed = {
    dst: macText(frame.subarray(0, 6)),
    src: macText(frame.subarray(6, 12)),
    type: frame.readUInt16BE(12),
  };
  if (parsed.type !== ETH_IP || frame.length < 34) return parsed;
  const ihl = (frame[14]! & 0x0f) * 4;
  const total = frame.readUInt16BE(16);
  const ip = {
    src: [...frame.subarray(26, 30)].join('.'),
    dst: [...frame.subarray(30, 34)].join('.'),
    protocol: frame[23]!,
    payload: frame.subarray(14 + ihl, 14 + total),
  };
  parsed.ip = ip;
  if (ip.protocol === 17 && ip.payload.length >= 8)
    parsed.udp = {
      sport: ip.payload.readUInt16BE(0),
      dport: ip.payload.readUInt16BE(2),
      payload: ip.payload.subarray(8, ip.payload.readUInt16BE(4)),
    };
  return parsed;
}

/** A DHCP reply's type and the address it gives (yiaddr), or undefined if it is none. */
export function dhcpReply(frame: Buffer): { type: number; yiaddr: string; chaddr: string } | undefined {
  const { udp: u } = parseFrame(frame);
  if (!u || u.sport !== 67 || u.payload.length < 240 || u.payload[0] !== 2) return undefined;
  const options = u.payload.subarray(240);
  let type = 0;
  for (let i = 0; i < options.length && options[i] !== 255;) {
    if (options[i] === 0) {
      i += 1;
      continue;
    }
    if (options[i] === 53) type = options[i + 2]!;
    i += 2 + options[i + 1]!;
  }
  return {
    type,
    yiaddr: [...u.payload.subarray(16, 20)].join('.'),
    chaddr: macText(u.payload.subarray(28, 34)),
  };
}

/** A DNS answer's id, rcode and number of answers, or undefined if the frame is none. */
export function dnsAnswer(frame: Buffer): { id: number; rcode: number; answers: number } | undefined {
  const { udp: u } = parseFrame(frame);
  if (!u || u.sport !== 53 || u.payload.length < 12 || (u.payload[2]! & 0x80) === 0) return undefined;
  return { id: u.payload.readUInt16BE(0), rcode: u.payload[3]! & 0x0f, answers: u.payload.readUInt16BE(6) };
}

export function isEchoReply(frame: Buffer, from: string): boolean {
  const { ip } = parseFrame(frame);
  return ip?.protocol === 1 && ip.src === from && ip.payload[0] === 0;
}
