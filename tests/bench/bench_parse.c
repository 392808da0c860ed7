/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bench_parse.c - SIP parser throughput: a typical REGISTER and a typical
 * INVITE with SDP, each parsed in a loop for about one second.  Prints one
 * line per message, e.g. "parse REGISTER: 2345678 msg/s, 426 ns/msg".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sip/msg.h"

static const char reg[] =
    "REGISTER sip:sip.example.net SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bK-524287-1---a1b2c3d4e5f6;rport\r\n"
    "Max-Forwards: 70\r\n"
    "Contact: <sip:2001@192.168.1.20:5060;transport=udp>;expires=3600\r\n"
    "To: \"2001\" <sip:2001@sip.example.net>\r\n"
    "From: \"2001\" <sip:2001@sip.example.net>;tag=8a1f3c2e\r\n"
    "Call-ID: 5b7c9e1f-2a3d-4e5f-8a9b-0c1d2e3f4a5b@192.168.1.20\r\n"
    "CSeq: 42 REGISTER\r\n"
    "Expires: 3600\r\n"
    "Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, INFO, SUBSCRIBE\r\n"
    "Supported: replaces, path, timer\r\n"
    "User-Agent: Grandstream GXP1625 1.0.4.138\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

#define SDP                                                     \
    "v=0\r\n"                                                   \
    "o=alice 2890844526 2890844526 IN IP4 192.168.1.20\r\n"     \
    "s=-\r\n"                                                   \
    "c=IN IP4 192.168.1.20\r\n"                                 \
    "t=0 0\r\n"                                                 \
    "m=audio 49170 RTP/AVP 0 8 101\r\n"                         \
    "a=rtpmap:0 PCMU/8000\r\n"                                  \
    "a=rtpmap:8 PCMA/8000\r\n"                                  \
    "a=rtpmap:101 telephone-event/8000\r\n"                     \
    "a=fmtp:101 0-15\r\n"                                       \
    "a=ptime:20\r\n"                                            \
    "a=sendrecv\r\n"

static const char sdp[] = SDP;

static const char inv_head[] =
    "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bKnashds8;rport\r\n"
    "Max-Forwards: 70\r\n"
    "To: Bob <sip:bob@biloxi.example.com>\r\n"
    "From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
    "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
    "CSeq: 314159 INVITE\r\n"
    "Contact: <sip:alice@192.168.1.20:5060>\r\n"
    "Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, NOTIFY\r\n"
    "Supported: replaces, timer\r\n"
    "User-Agent: Yealink SIP-T46S 66.86.0.15\r\n"
    "Content-Type: application/sdp\r\n";

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Parses buf repeatedly for about a second; prints the rate. */
static int bench(const char *label, const char *buf, size_t len)
{
    static struct sipmsg m;
    unsigned long long n = 0;
    double t0 = now_s(), t;
    size_t sink = 0;

    do {
        for (int i = 0; i < 10000; i++) {
            if (sipmsg_parse(&m, buf, len, 0) != 0) {
                fprintf(stderr, "%s: parse failed: %s\n", label, sipmsg_strerror(m.err));
                return 1;
            }
            sink += m.nhdrs;
        }
        n += 10000;
        t = now_s() - t0;
    } while (t < 1.0);
    printf("parse %s: %.0f msg/s, %.0f ns/msg (%zu bytes, %u headers)\n", label,
           (double)n / t, t * 1e9 / (double)n, len, (unsigned)(sink / n));
    return 0;
}

int main(void)
{
    char inv[2048];
    int n = snprintf(inv, sizeof(inv), "%sContent-Length: %zu\r\n\r\n%s", inv_head,
                     sizeof(sdp) - 1, sdp);

    if (n < 0 || (size_t)n >= sizeof(inv))
        return 1;
    if (bench("REGISTER", reg, sizeof(reg) - 1))
        return 1;
    return bench("INVITE", inv, (size_t)n);
}
