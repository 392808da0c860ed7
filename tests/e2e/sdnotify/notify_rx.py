#!/usr/bin/env python3
"""systemd's side of sd_notify(3) for t_80_sdnotify: a datagram socket the
test owns, with SO_PASSCRED so that each message carries its sender's pid
and uid as the kernel saw them (systemd's NotifyAccess=main check).

Usage: notify_rx.py SOCKET LOG PROXY_IP PROXY_PORT LOCAL_IP CTL_SOCKET

Every datagram becomes one line of LOG:
    <monotonic s> pid=<pid> uid=<uid> <text, newlines as " | ">
and what this receiver did, as "<monotonic s> rx <what>".

At the first READY=1 it freezes the sender (SIGSTOP, waits for state T),
then, while nothing in the daemon can run: records the sender's uids from
/proc and whether the control socket exists, and sends a SIP OPTIONS from
LOCAL_IP to the proxy's listen socket over a connected UDP socket (a port
nobody had bound would answer ICMP port unreachable: ECONNREFUSED).  Then
SIGCONT, and the answer is awaited: an answer proves the listen socket was
open when READY=1 was sent, not merely by the time the test looked.
"""
import os
import signal
import socket
import struct
import sys
import time


def log(out, text):
    out.write("%.3f %s\n" % (time.monotonic(), text))
    out.flush()


def proc_state(pid):
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def proc_uids(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Uid:"):
                return " ".join(line.split()[1:])
    return "?"


def probe(out, pid, proxy, local_ip, ctl):
    os.kill(pid, signal.SIGSTOP)
    deadline = time.monotonic() + 5
    while proc_state(pid) != "T":
        if time.monotonic() > deadline:
            log(out, "rx probe_error=not_stopped")
            os.kill(pid, signal.SIGCONT)
            return
        time.sleep(0.001)
    log(out, "rx stopped uids=%s ctl_exists=%d" % (proc_uids(pid), os.path.exists(ctl)))
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind((local_ip, 0))
    u.connect(proxy)
    port = u.getsockname()[1]
    req = ("OPTIONS sip:%s:%d SIP/2.0\r\n"
           "Via: SIP/2.0/UDP %s:%d;branch=z9hG4bK-sdnotify-probe;rport\r\n"
           "Max-Forwards: 70\r\n"
           "From: <sip:probe@%s>;tag=sdn1\r\n"
           "To: <sip:%s:%d>\r\n"
           "Call-ID: sdnotify-probe@%s\r\n"
           "CSeq: 1 OPTIONS\r\n"
           "Content-Length: 0\r\n\r\n") % (proxy[0], proxy[1], local_ip, port, local_ip,
                                              proxy[0], proxy[1], local_ip)
    u.send(req.encode())
    log(out, "rx options_sent")
    os.kill(pid, signal.SIGCONT)
    u.settimeout(5)
    try:
        data = u.recv(4096)
        log(out, "rx options_reply=%s" % data.split(b"\r\n", 1)[0].decode(errors="replace"))
    except OSError as e:
        log(out, "rx options_error=%s" % e)
    u.close()


def main():
    path, logpath, proxy_ip, proxy_port, local_ip, ctl = sys.argv[1:7]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    s.bind(path)
    os.chmod(path, 0o666)  # the daemon sends after dropping to its user
    creds_len = struct.calcsize("3i")
    probed = False
    with open(logpath, "a") as out:
        log(out, "rx listening")
        while True:
            data, anc, _flags, _addr = s.recvmsg(4096, socket.CMSG_SPACE(creds_len))
            pid = uid = -1
            for level, typ, cdata in anc:
                if level == socket.SOL_SOCKET and typ == socket.SCM_CREDENTIALS:
                    pid, uid, _gid = struct.unpack("3i", cdata[:creds_len])
            text = data.decode(errors="replace").replace("\n", " | ")
            log(out, "pid=%d uid=%d %s" % (pid, uid, text))
            if not probed and "READY=1" in data.decode(errors="replace").split("\n"):
                probed = True
                probe(out, pid, (proxy_ip, int(proxy_port)), local_ip, ctl)


if __name__ == "__main__":
    main()
