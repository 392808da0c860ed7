#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""reg_phases.py LAN.pcap WAN.pcap EDGE_IP REGISTRAR_IP BUCKET_S: each
phone's first REGISTER split into phases (tests/bench/reg_phases.sh says
which), from a capture of the phones' side (UDP, any link type tcpdump
writes) and one of the edge's (TCP to the edge, UDP edge <-> registrar).
A phone is its To user; a connection is the user of the first REGISTER on
it; the first copy of each packet counts (a retransmission does not).
IPv4 only, as the lab."""
import collections
import re
import struct
import sys

def packets(path):
    with open(path, 'rb') as f:
        data = f.read()
    magic = struct.unpack('<I', data[:4])[0]
    ns = magic == 0xa1b23c4d
    lt = struct.unpack('<I', data[20:24])[0]
    off = 24
    while off + 16 <= len(data):
        ts, tf, cl, _ = struct.unpack('<IIII', data[off:off + 16])
        pkt = data[off + 16:off + 16 + cl]
        off += 16 + cl
        t = ts + tf / (1e9 if ns else 1e6)
        if lt == 1:
            proto, ip = struct.unpack('>H', pkt[12:14])[0], pkt[14:]
        elif lt == 113:
            proto, ip = struct.unpack('>H', pkt[14:16])[0], pkt[16:]
        elif lt == 276:
            proto, ip = struct.unpack('>H', pkt[0:2])[0], pkt[20:]
        else:
            raise SystemExit('linktype %d' % lt)
        if proto != 0x0800:
            continue
        ihl = (ip[0] & 15) * 4
        p = ip[9]
        src, dst = '.'.join(map(str, ip[12:16])), '.'.join(map(str, ip[16:20]))
        tot = struct.unpack('>H', ip[2:4])[0]
        l4 = ip[ihl:tot]
        if p == 17:
            sp, dp = struct.unpack('>HH', l4[:4])
            yield t, 'udp', src, sp, dst, dp, 0, l4[8:]
        elif p == 6:
            sp, dp = struct.unpack('>HH', l4[:4])
            doff = (l4[12] >> 4) * 4
            flags = l4[13]
            yield t, 'tcp', src, sp, dst, dp, flags, l4[doff:]

MSG = re.compile(rb'(?:^|\r\n)((?:REGISTER sip:|SIP/2\.0 \d\d\d)[^\r]*)\r\n')
def msgs(payload):
    """(start line, To user, CSeq method) of each message starting in payload."""
    starts = [m.start(1) for m in MSG.finditer(payload)]
    for i, s in enumerate(starts):
        e = starts[i + 1] if i + 1 < len(starts) else len(payload)
        m = payload[s:e]
        first = m.split(b'\r\n', 1)[0]
        to = re.search(rb'\r\n(?:To|t):[^\r]*?sip:([^@;>]+)@', m)
        cs = re.search(rb'\r\nCSeq:\s*\d+\s+(\w+)', m)
        if to and cs:
            yield first, to.group(1).decode(), cs.group(1).decode()

def first(d, k, t):
    if k not in d:
        d[k] = t

def main(lan, wan, edge, registrar, width):
    t_in, t_out = {}, {}
    for t, pr, src, sp, dst, dp, fl, pl in packets(lan):
        for line, user, meth in msgs(pl):
            if meth != 'REGISTER':
                continue
            if line.startswith(b'REGISTER'):
                first(t_in, user, t)
            elif line.startswith(b'SIP/2.0 200'):
                first(t_out, user, t)
    syn, synack, conn_user = {}, {}, {}
    t_up, t_fwd, t_r200, t_e200 = {}, {}, {}, {}
    for t, pr, src, sp, dst, dp, fl, pl in packets(wan):
        if pr == 'tcp':
            if dst == edge and fl & 0x02 and not fl & 0x10:
                first(syn, (src, sp), t)
            elif src == edge and fl & 0x12 == 0x12:
                first(synack, (dst, dp), t)
        for line, user, meth in msgs(pl):
            if meth != 'REGISTER':
                continue
            req = line.startswith(b'REGISTER')
            ok = line.startswith(b'SIP/2.0 200')
            if pr == 'tcp' and dst == edge and req:
                first(t_up, user, t)
                first(conn_user, (src, sp), user)
            elif pr == 'tcp' and src == edge and ok:
                first(t_e200, user, t)
            elif pr == 'udp' and dst == registrar and req:
                first(t_fwd, user, t)
            elif pr == 'udp' and src == registrar and ok:
                first(t_r200, user, t)
    u_syn = {u: syn[c] for c, u in conn_user.items() if c in syn}
    u_synack = {u: synack[c] for c, u in conn_user.items() if c in synack}
    phases = [('in->SYN', t_in, u_syn), ('SYN->SYNACK', u_syn, u_synack),
              ('SYNACK->REG up', u_synack, t_up), ('in->REG up', t_in, t_up),
              ('edge in->fwd', t_up, t_fwd), ('registrar', t_fwd, t_r200),
              ('edge 200 relay', t_r200, t_e200), ('edge total', t_up, t_e200),
              ('200->phone', t_e200, t_out), ('total', t_in, t_out)]
    users = [u for u in t_in if u in t_out]
    tot = sorted(users, key=lambda u: t_out[u] - t_in[u])
    n = len(tot)
    tail = tot[int(n * 0.99):]
    def pct(v, q):
        return v[min(len(v) - 1, int(len(v) * q))]
    print('%d phones answered of %d sent; tail = slowest %d' % (n, len(t_in), len(tail)))
    print('%-16s %8s %8s %8s %8s %8s | %10s' % ('phase ms', 'n', 'p50', 'p90', 'p99', 'max', 'tail mean'))
    for name, a, b in phases:
        v = sorted((b[u] - a[u]) * 1000 for u in users if u in a and u in b)
        if not v:
            continue
        tv = [(b[u] - a[u]) * 1000 for u in tail if u in a and u in b]
        print('%-16s %8d %8.2f %8.2f %8.2f %8.2f | %10.2f' % (name, len(v), pct(v, .5), pct(v, .9),
              pct(v, .99), v[-1], sum(tv) / len(tv) if tv else float('nan')))
    # when do the tail phones arrive (s from the first REGISTER)?
    t0 = min(t_in.values())
    print('slowest 1 % arrived at (s):', ' '.join('%.2f' % (t_in[u] - t0) for u in tail[:60]))
    w = float(width)
    print('by arrival (%g s buckets): start s, phones, means of in->SYN, SYNACK->REG up, '
          'edge in->fwd, registrar, edge 200 relay, 200->phone, total; max total' % w)
    bk = collections.defaultdict(list)
    for u in users:
        bk[int((t_in[u] - t0) / w)].append(u)
    for k in sorted(bk):
        us = bk[k]
        def mean(a, b):
            v = [(b[u] - a[u]) * 1000 for u in us if u in a and u in b]
            return sum(v) / len(v) if v else float('nan')
        print('%5.2f %4d %6.2f %6.2f %6.2f %6.2f %6.2f %6.2f %6.2f %6.2f' % (
            k * w, len(us), mean(t_in, u_syn), mean(u_synack, t_up), mean(t_up, t_fwd),
            mean(t_fwd, t_r200), mean(t_r200, t_e200), mean(t_e200, t_out), mean(t_in, t_out),
            max((t_out[u] - t_in[u]) * 1000 for u in us)))

if __name__ == '__main__':
    if len(sys.argv) != 6:
        raise SystemExit(__doc__)
    main(*sys.argv[1:])
