#!/usr/bin/python3
"""Talks HTTP to sipkeep's metrics.listen for t_81_metrics_http.sh.

  http_probe.py scrape HOST PORT
      GET /metrics; exits 1 unless 200 with Content-Type text/plain;
      version=0.0.4, a Content-Length equal to the body, and a body that
      prometheus_client's text parser (Debian's python3-prometheus-client)
      reads.  Prints "NAME{LABELS} VALUE" per sample (labels sorted), then
      "families N".
  http_probe.py samples FILE
      The same sample lines for a page in FILE (the control socket's).
  http_probe.py head HOST PORT / notfound HOST PORT
      HEAD /metrics (200, no body) / GET /nope (404).
  http_probe.py abuse HOST PORT MAX_CLIENTS TIMEOUT_S
      200 hostile requests: 100 garbage (each ends its input and must get a
      400/404/405/431/505), 50 oversized heads (431, or a reset when the
      daemon closed before the client finished writing), 50 slow clients
      at once that never end their head (MAX_CLIENTS held and closed by
      the daemon after TIMEOUT_S, the others refused 503 at once).  Exits
      1 on anything else.  Seeded: the same bytes every run.
"""
import random
import socket
import sys
import time

from prometheus_client.parser import text_string_to_metric_families

IO_TIMEOUT = 15.0


def connect(host, port):
    s = socket.create_connection((host, int(port)), timeout=IO_TIMEOUT)
    return s


def read_all(s):
    """Bytes until EOF; (bytes, error name or None)."""
    data = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return data, None
            data += chunk
    except ConnectionResetError:
        return data, "reset"
    except socket.timeout:
        return data, "timeout"


def status_of(answer):
    if not answer.startswith(b"HTTP/1.1 "):
        return None
    try:
        return int(answer[9:12])
    except ValueError:
        return None


def request(host, port, raw):
    s = connect(host, port)
    try:
        s.sendall(raw)
        s.shutdown(socket.SHUT_WR)
        return read_all(s)
    finally:
        s.close()


def split_answer(answer):
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    hdrs = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        hdrs[name.strip().lower()] = value.strip()
    return lines[0], hdrs, body


def die(msg):
    print("http_probe: " + msg, file=sys.stderr)
    sys.exit(1)


def print_samples(text):
    n = 0
    for fam in text_string_to_metric_families(text):
        n += 1
        for smp in fam.samples:
            labels = ",".join('%s="%s"' % (k, v) for k, v in sorted(smp.labels.items()))
            print("%s{%s} %s" % (smp.name, labels, repr(float(smp.value))))
    print("families %d" % n)


def scrape(host, port):
    answer, err = request(host, port, b"GET /metrics HTTP/1.1\r\nHost: sipkeep\r\n"
                          b"Accept: text/plain;version=0.0.4\r\n\r\n")
    if err:
        die("scrape: %s after %r" % (err, answer[:200]))
    line, hdrs, body = split_answer(answer)
    if line != "HTTP/1.1 200 OK":
        die("scrape: status line %r" % line)
    if not hdrs.get("content-type", "").startswith("text/plain; version=0.0.4"):
        die("scrape: Content-Type %r" % hdrs.get("content-type"))
    if hdrs.get("content-length") != str(len(body)):
        die("scrape: Content-Length %r, body %d bytes" % (hdrs.get("content-length"), len(body)))
    if hdrs.get("connection") != "close":
        die("scrape: Connection %r" % hdrs.get("connection"))
    print_samples(body.decode("utf-8"))


def garbage(rng):
    """100 requests that are not a GET of /metrics, each its own kind."""
    fixed = [
        b"GARBAGE\r\n\r\n",
        b"GET /metrics HTTP/9.9\r\n\r\n",
        b"POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc",
        b"GET /nope HTTP/1.1\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(32),
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        b"GET /metrics HTTP/1.1\r\nno colon here\r\n\r\n",
        b"GET /metrics HTTP/1.1\r\n\x00\x00\r\n\r\n",
        b"GET /metrics HTTP/1.1\r\n folded: x\r\n\r\n",
        b"GET /metrics",                       # cut short
        b"\r\n\r\n\r\n",
        b"GET /metrics HTTP/1.1\rHost: x\r\n\r\n",
    ]
    out = list(fixed)
    while len(out) < 100:
        kind = rng.randrange(3)
        if kind == 0:   # random bytes
            out.append(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 3000))))
        elif kind == 1:  # a request line with random printable garbage
            out.append(("%s /%s HTTP/1.1\r\n\r\n" % (
                "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(rng.randrange(1, 9))),
                "".join(rng.choice("abcxyz/?=&") for _ in range(rng.randrange(0, 40))))).encode())
        else:            # a valid start, then random bytes
            # "X\x01" first: the header line is bad whatever follows.
            out.append(b"GET /metrics HTTP/1.1\r\nX\x01" +
                       bytes(rng.randrange(256) for _ in range(rng.randrange(1, 500))))
    return out


def abuse(host, port, max_clients, timeout_s):
    rng = random.Random(5580)
    max_clients = int(max_clients)
    timeout_s = float(timeout_s)
    seen = {}

    for raw in garbage(rng):
        answer, err = request(host, port, raw)
        st = status_of(answer)
        if err or st not in (400, 404, 405, 431, 505):
            die("garbage %r: %s %r" % (raw[:60], err, answer[:80]))
        seen[st] = seen.get(st, 0) + 1
    print("garbage 100: " + " ".join("%d=%d" % kv for kv in sorted(seen.items())))

    n431 = nreset = 0
    for i in range(50):
        pad = 5000 + i * 1100          # 5 KB .. 59 KB of one header
        raw = b"GET /metrics HTTP/1.1\r\nX-Pad: " + b"a" * pad + b"\r\n\r\n"
        s = connect(host, port)
        try:
            try:
                s.sendall(raw)
            except (BrokenPipeError, ConnectionResetError):
                pass
            answer, err = read_all(s)
        finally:
            s.close()
        st = status_of(answer)
        if st == 431:
            n431 += 1
        elif err == "reset" and not answer:
            nreset += 1
        else:
            die("oversized %d: %s %r" % (pad, err, answer[:80]))
    if n431 < 25:
        die("oversized: only %d of 50 got a 431 (%d resets)" % (n431, nreset))
    print("oversized 50: 431=%d reset=%d" % (n431, nreset))

    socks = []
    t0 = time.monotonic()
    for _ in range(50):
        s = connect(host, port)
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: slow\r\n")   # never the empty line
        socks.append(s)
    held = refused = 0
    closed_after = []
    for s in socks:
        s.settimeout(timeout_s + 5)
        answer, err = read_all(s)
        if status_of(answer) == 503:
            refused += 1
        elif not answer and err is None:
            held += 1
            closed_after.append(time.monotonic() - t0)
        else:
            die("slow client: %s %r" % (err, answer[:80]))
        s.close()
    if held != max_clients or refused != 50 - max_clients:
        die("slow clients: %d held, %d refused (want %d and %d)" %
            (held, refused, max_clients, 50 - max_clients))
    first, last = min(closed_after), max(closed_after)
    if first < timeout_s - 0.5 or last > timeout_s + 3:
        die("slow clients closed after %.2f-%.2f s, not at %.0f s" % (first, last, timeout_s))
    print("slow 50: held=%d closed after %.2f-%.2f s, refused 503=%d" %
          (held, first, last, refused))


def main():
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "scrape" and len(sys.argv) == 4:
        scrape(sys.argv[2], sys.argv[3])
    elif cmd == "samples" and len(sys.argv) == 3:
        with open(sys.argv[2], encoding="utf-8") as f:
            print_samples(f.read())
    elif cmd == "head" and len(sys.argv) == 4:
        answer, err = request(sys.argv[2], sys.argv[3], b"HEAD /metrics HTTP/1.0\r\n\r\n")
        line, hdrs, body = split_answer(answer)
        if err or line != "HTTP/1.1 200 OK" or body or int(hdrs.get("content-length", "0")) < 100:
            die("head: %s %r" % (err, answer[:200]))
        print("head: 200, Content-Length %s, no body" % hdrs["content-length"])
    elif cmd == "notfound" and len(sys.argv) == 4:
        answer, err = request(sys.argv[2], sys.argv[3], b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n")
        if err or status_of(answer) != 404:
            die("notfound: %s %r" % (err, answer[:200]))
        print("notfound: 404")
    elif cmd == "abuse" and len(sys.argv) == 6:
        abuse(*sys.argv[2:6])
    else:
        die("usage: see the top of this file")


if __name__ == "__main__":
    main()
