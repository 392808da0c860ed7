/* SPDX-License-Identifier: GPL-2.0-or-later */
/* corpus_msg.h - SIP messages for test_msg.c and the fuzz seeds.
 *
 * Classes follow RFC 4475 (torture tests) and RFC 5118 (IPv6): each message
 * is modelled on its RFC class with our own names and values.  Each entry says how sipmsg_parse() must treat
 * it: rc/err, and for valid ones the fields it must find.  len comes from
 * sizeof, so embedded NUL bytes count.  Header checks: id (name for
 * OTHER), which occurrence (0-based), exact raw value.
 */
#ifndef SIPKEEP_TESTS_CORPUS_MSG_H
#define SIPKEEP_TESTS_CORPUS_MSG_H

#include <errno.h>
#include <stddef.h>

#include "sip/msg.h"

struct corpus_hdr {
    enum sipmsg_hdr_id id;
    const char *name;       /* for SIPMSG_HDR_OTHER */
    unsigned nth;
    const char *value;
    size_t value_len;
};

struct corpus_msg {
    const char *name;
    const char *text;
    size_t len;
    unsigned flags;
    int rc;
    enum sipmsg_err err;
    const char *method;     /* requests */
    const char *ruri;
    unsigned status;        /* responses */
    const char *reason;
    unsigned nhdrs;
    size_t body_len;
    size_t msg_len;         /* parsed length; 0 means len */
    struct corpus_hdr hdrs[8];
};

#define CORPUS_TEXT(s) .text = s, .len = sizeof(s) - 1
#define CORPUS_VAL(s) .value = s, .value_len = sizeof(s) - 1

static const struct corpus_msg corpus_msgs[] = {
    {
        .name = "register",
        CORPUS_TEXT("REGISTER sip:sip.example.net SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bK-524287-1---a1b2c3d4e5"
        "f6;rport\r\n"
        "Max-Forwards: 70\r\n"
        "Contact: <sip:2001@192.168.1.20:5060;transport=udp>;expires=3600\r\n"
        "To: \"2001\" <sip:2001@sip.example.net>\r\n"
        "From: \"2001\" <sip:2001@sip.example.net>;tag=8a1f3c2e\r\n"
        "Call-ID: 5b7c9e1f-2a3d-4e5f-8a9b-0c1d2e3f4a5b@192.168.1.20\r\n"
        "CSeq: 42 REGISTER\r\n"
        "Expires: 3600\r\n"
        "Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, INFO,"
        " SUBSCRIBE\r\n"
        "Supported: replaces, path, timer\r\n"
        "User-Agent: Grandstream GXP1625 1.0.4.138\r\n"
        "Content-Length: 0\r\n"
        "\r\n"),
        .rc = 0, .err = SIPMSG_OK,
        .method = "REGISTER",
        .ruri = "sip:sip.example.net",
        .nhdrs = 12, .body_len = 0,
        .hdrs = {
            { SIPMSG_HDR_CSEQ, NULL, 0,
              CORPUS_VAL("42 REGISTER") },
            { SIPMSG_HDR_CALL_ID, NULL, 0,
              CORPUS_VAL("5b7c9e1f-2a3d-4e5f-8a9b-0c1d2e3f4a5b@192.168.1.20") },
            { SIPMSG_HDR_EXPIRES, NULL, 0,
              CORPUS_VAL("3600") },
            { SIPMSG_HDR_USER_AGENT, NULL, 0,
              CORPUS_VAL("Grandstream GXP1625 1.0.4.138") },
            { SIPMSG_HDR_CONTENT_LENGTH, NULL, 0,
              CORPUS_VAL("0") },
        },
    },
    {
        .name = "invite_sdp",
        CORPUS_TEXT("INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bKnashds8;rport\r\n"
        "Max-Forwards: 70\r\n"
        "To: Bob <sip:bob@biloxi.example.com>\r\n"
        "From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
        "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
        "CSeq: 314159 INVITE\r\n"
        "Contact: <sip:alice@192.168.1.20:5060>\r\n"
        "Allow: INVITE, ACK, CANCEL, OPTIONS, BYE\r\n"
        "Content-Type: application/sdp\r\n"
        "Content-Length: 242\r\n"
        "\r\n"
        "v=0\r\n"
        "o=alice 2890844526 2890844526 IN IP4 192.168.1.20\r\n"
        "s=-\r\n"
        "c=IN IP4 192.168.1.20\r\n"
        "t=0 0\r\n"
        "m=audio 49170 RTP/AVP 0 8 101\r\n"
        "a=rtpmap:0 PCMU/8000\r\n"
        "a=rtpmap:8 PCMA/8000\r\n"
        "a=rtpmap:101 telephone-event/8000\r\n"
        "a=fmtp:101 0-15\r\n"
        "a=ptime:20\r\n"
        "a=sendrecv\r\n"),
        .rc = 0, .err = SIPMSG_OK,
        .method = "INVITE",
        .ruri = "sip:bob@biloxi.example.com",
        .nhdrs = 10, .body_len = 242,
        .hdrs = {
            { SIPMSG_HDR_CONTENT_TYPE, NULL, 0,
              CORPUS_VAL("application/sdp") },
            { SIPMSG_HDR_FROM, NULL, 0,
              CORPUS_VAL("Alice <sip:alice@atlanta.example.com>;tag=1928301774") },
            { SIPMSG_HDR_CONTENT_LENGTH, NULL, 0,
              CORPUS_VAL("242") },
        },
    },
    {
        .name = "torture_ws",
        CORPUS_TEXT("INVITE sip:kim@lab.example.org;unknownparam SIP/2.0\r\n"
        "TO :\r\n"
        " sip:kim@lab.example.org ;   tag    = 77123abcN\r\n"
        "from   : \"K Ramirez \\\\\\\"\"       <sip:kramirez@example.org>\r\n"
        "  ;\r\n"
        "  tag = 4x8ujd2\r\n"
        "MaX-fOrWaRdS: 0068\r\n"
        "Call-ID: wstest.k9sd8f@192.0.2.1\r\n"
        "Content-Length   : 148\r\n"
        "cseq: 0009\r\n"
        "  INVITE\r\n"
        "Via  : SIP  /   2.0\r\n"
        " /UDP\r\n"
        "    192.0.2.2;branch=z9hG4bKws0001\r\n"
        "s :\r\n"
        "NewFangledHeader:   newfangled value\r\n"
        " continued newfangled value\r\n"
        "UnknownHeaderWithUnusualValue: ;;,,;;,;\r\n"
        "Content-Type: application/sdp\r\n"
        "Route:\r\n"
        " <sip:services.example.org;lr;unknownwith=value;unknown-no-value>\r\n"
        "v:  SIP  / 2.0  / TCP     spindle.example.org   ;\r\n"
        "  branch  =   z9hG4bKws0002  ,\r\n"
        " SIP  /    2.0   / UDP  192.168.255.111   ; branch=\r\n"
        " z9hG4bKws0003\r\n"
        "m:\"Quoted string \\\"\\\"\" <sip:kramirez@example.org> ; newparam =\r\n"
        "      newvalue ;\r\n"
        "  secondparam ; q = 0.33\r\n"
        "\r\n"
        "v=0\r\n"
        "o=kim 4711 4711 IN IP4 192.0.2.3\r\n"
        "s=-\r\n"
        "c=IN IP4 192.0.2.4\r\n"
        "t=0 0\r\n"
        "m=audio 49217 RTP/AVP 0 12\r\n"
        "m=video 3227 RTP/AVP 31\r\n"
        "a=rtpmap:31 H261/90000\r\n"),
        .rc = 0, .err = SIPMSG_OK,
        .method = "INVITE",
        .ruri = "sip:kim@lab.example.org;unknownparam",
        .nhdrs = 14, .body_len = 148,
        .hdrs = {
            { SIPMSG_HDR_TO, NULL, 0,
              CORPUS_VAL("sip:kim@lab.example.org ;   tag    = 77123abcN") },
            { SIPMSG_HDR_FROM, NULL, 0,
              CORPUS_VAL("\"K Ramirez \\\\\\\"\"       <sip:kramirez@example.org>\r\n"
                  "  ;\r\n"
                  "  tag = 4x8ujd2") },
            { SIPMSG_HDR_MAX_FORWARDS, NULL, 0,
              CORPUS_VAL("0068") },
            { SIPMSG_HDR_CSEQ, NULL, 0,
              CORPUS_VAL("0009\r\n"
                  "  INVITE") },
            { SIPMSG_HDR_SUBJECT, NULL, 0,
              CORPUS_VAL("") },
            { SIPMSG_HDR_OTHER, "newfangledheader", 0,
              CORPUS_VAL("newfangled value\r\n"
                  " continued newfangled value") },
            { SIPMSG_HDR_VIA, NULL, 1,
              CORPUS_VAL("SIP  / 2.0  / TCP     spindle.example.org   ;\r\n"
                  "  branch  =   z9hG4bKws0002  ,\r\n"
                  " SIP  /    2.0   / UDP  192.168.255.111   ; branch=\r\n"
                  " z9hG4bKws0003") },
            { SIPMSG_HDR_ROUTE, NULL, 0,
              CORPUS_VAL("<sip:services.example.org;lr;unknownwith=value;unknown-no-value>") },
        },
    },
    {
        .name = "intmeth_ctl_in_quoted_pair",
        CORPUS_TEXT("!interesting-Method0123456789_*+`.%indeed'~ sip:1_unusual.URI~(to-be!su"
        "re)&isn't+it$/crazy\?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@e"
        "xample.com SIP/2.0\r\n"
        "Via: SIP/2.0/TCP host1.example.com;branch=z9hG4bK-.!%66*_+`'~\r\n"
        "To: \"BEL:\\\007 NUL:\\\000 DEL:\\\177\" <sip:1_unusual.URI~(to-be!sure"
        ")&isn't+it$/crazy\?,/;;*@example.com>\r\n"
        "From: token1~` token2'+_ token3*%!.- <sip:mundane@example.com>;fromPara"
        "m''~+*_!.-%=\"\321\200\320\260\320\261\320\276\321\202\320\260\321\216\321"
        "\211\320\270\320\271\";tag=_token~1'+`*%!-.\r\n"
        "Call-ID: intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][\?}{\r\n"
        "CSeq: 139122385 !interesting-Method0123456789_*+`.%indeed'~\r\n"
        "Max-Forwards: 255\r\n"
        "extensionHeader-!.%*+_`'~:\357\273\277\345\244\247\345\201\234\351\233\273"
        "\r\n"
        "Content-Length: 0\r\n"
        "\r\n"),
        .rc = -EBADMSG, .err = SIPMSG_E_CTL,
    },
    {
        .name = "intmeth",
        CORPUS_TEXT("!interesting-Method0123456789_*+`.%indeed'~ sip:1_unusual.URI~(to-be!su"
        "re)&isn't+it$/crazy\?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@e"
        "xample.com SIP/2.0\r\n"
        "Via: SIP/2.0/TCP host1.example.com;branch=z9hG4bK-.!%66*_+`'~\r\n"
        "To: \"BEL:\\b NUL:\\0 DEL:\\d\" <sip:1_unusual.URI~(to-be!sure)&isn't+i"
        "t$/crazy\?,/;;*@example.com>\r\n"
        "From: token1~` token2'+_ token3*%!.- <sip:mundane@example.com>;fromPara"
        "m''~+*_!.-%=\"\321\200\320\260\320\261\320\276\321\202\320\260\321\216\321"
        "\211\320\270\320\271\";tag=_token~1'+`*%!-.\r\n"
        "Call-ID: intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][\?}{\r\n"
        "CSeq: 139122385 !interesting-Method0123456789_*+`.%indeed'~\r\n"
        "Max-Forwards: 255\r\n"
        "extensionHeader-!.%*+_`'~:\357\273\277\345\244\247\345\201\234\351\233\273"
        "\r\n"
        "Content-Length: 0\r\n"
        "\r\n"),
        .rc = 0, .err = SIPMSG_OK,
        .method = "!interesting-Method0123456789_*+`.%indeed'~",
        .ruri = "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy\?,/;;*:&it+has=1,weird!*"
            "pas$wo~d_too.(doesn't-it)@example.com",
        .nhdrs = 8, .body_len = 0,
        .hdrs = {
            { SIPMSG_HDR_OTHER, "EXTENSIONHEADER-!.%*+_`'~", 0,
              CORPUS_VAL("\357\273\277\345\244\247\345\201\234\351\233\273") },
            { SIPMSG_HDR_CALL_ID, NULL, 0,
              CORPUS_VAL("intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][\?}{") },
            { SIPMSG_HDR_MAX_FORWARDS, NULL, 0,
              CORPUS_VAL("255") },
        },
    },
    {
        .name = "escaped_uri",
        CORPUS_TEXT("INVITE sip:sips%3Auser%40example.com@example.net;%00x=%2b SIP/2.0\r\n"
        "To: sip:%75se%72@example.com\r\n"
        "From: <sip:I%20have%20spaces@example.net>;tag=938\r\n"
        "Max-Forwards: 87\r\n"
        "i: esc01.239409asdfakjkn23onasd0-3234\r\n"
        "CSeq: 234234 INVITE\r\n"
        "Via: SIP/2.0/UDP host5.example.net;branch=z9hG4bKkdjuw\r\n"
        "C: application/sdp\r\n"
        "Contact:\r\n"
        "  <sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31>\r\n"
        "Content-Length: 242\r\n"
        "\r\n"
        "v=0\r\n"
        "o=alice 2890844526 2890844526 IN IP4 192.168.1.20\r\n"
        "s=-\r\n"
        "c=IN IP4 192.168.1.20\r\n"
        "t=0 0\r\n"
        "m=audio 49170 RTP/AVP 0 8 101\r\n"
        "a=rtpmap:0 PCMU/8000\r\n"
        "a=rtpmap:8 PCMA/8000\r\n"
        "a=rtpmap:101 telephone-event/8000\r\n"
        "a=fmtp:101 0-15\r\n"
        "a=ptime:20\r\n"
        "a=sendrecv\r\n"),
        .rc = 0, .err = SIPMSG_OK,
        .method = "INVITE",
        .ruri = "sip:sips%3Auser%40example.com@example.net;%00x=%2b",
        .nhdrs = 9, .body_len = 242,
        .hdrs = {
            { SIPMSG_HDR_CALL_ID, NULL, 0,
              CORPUS_VAL("esc01.239409asdfakjkn23onasd0-3234") },
            { SIPMSG_HDR_CONTENT_TYPE, NULL, 0,
              CORPUS_VAL("application/sdp") },
            { SIPMSG_HDR_CONTACT, NULL, 0,
              CORPUS_VAL("<sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31>") },
        },
    },
    {
        .name = "lwsdisp_compact_len",
        CORPUS_TEXT("OPTIONS sip:user@example.com SIP/2.0\r\n"
        "To: sip:user@example.com\r\n"
        "From: caller<sip:caller@example.com>;tag=323\r\n"
        "Max-Forwards: 70\r\n"
        "Call-ID: lwsdisp.1234abcd@funky.example.com\r\n"
        "CSeq: 60 OPTIONS\r\n"
        "Via: SIP/2.0/UDP funky.example.com;branch=z9hG4bKkdjuw\r\n"
        "l: 0\r\n"
        "\r\n"),
        .rc = 0, .err = SIPMSG_OK,
        .method = "OPTIONS",
        .ruri = "sip:user@example.com",
        .nhdrs = 7, .body_len = 0,
        .hdrs = {
            { SIPMSG_HDR_FROM, NULL, 0,
              CORPUS_VAL("caller<sip:caller@example.com>;tag=323") },
            { SIPMSG_HDR_CONTENT_LENGTH, NULL, 0,
              CORPUS_VAL("0") },
        },
    },
    {
        .name = "long_values",
        CORPUS_TEXT("INVITE sip:user@example.com SIP/2.0\r\n"
        "To: \"I have a user name of extremeextremeextremeextremeextremeextremee"
        "xtremeextremeextremeextreme proportion\"<sip:user@example.com:6000;unkn"
        "ownparam1=verylonglonglonglonglonglonglonglonglonglonglonglonglonglongl"
        "onglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglong"
        "longlonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglon"
        "gvalue>\r\n"
        "From: sip:amazinglylongcallernameamazinglylongcallernameamazinglylongca"
        "llernameamazinglylongcallernameamazinglylongcallername@example.net;tag="
        "longreqaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        "aaaaaaaaaaaaaaaaaaaaaaa\r\n"
        "Call-ID: longreq.onereallyreallyreallyreallyreallyreallyreallyreallyrea"
        "llyreallyreallyreallyreallyreallyreallyreallyreallyreallyreallyreallyre"
        "allyreallyreallyreallyreallyreallyreallyreallyreallyreallyreallyreallyr"
        "eallyreallyreallyreallyreallyreallyreallyreallylongcallid\r\n"
        "CSeq: 3882340 INVITE\r\n"
        "Unknown-LongLongLongLongLongLongLongLongLongLongLongLongLongLongLongLon"
        "gLongLongLongLong-Name: unknown-longlonglonglonglonglonglonglonglonglon"
        "glonglonglonglonglonglonglonglonglonglong-value; unknown-longlonglonglo"
        "nglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglong-para"
        "meter-name = unknown-longlonglonglonglonglonglonglonglonglonglonglonglo"
        "nglonglonglonglonglonglonglong-parameter-value\r\n"
        "Via: SIP/2.0/TCP sip33.example.com\r\n"
        "v: SIP/2.0/TCP sip32.example.com\r\n"
        "V: SIP/2.0/TCP sip31.example.com\r\n"
        "Via: SIP/2.0/TCP sip30.example.com\r\n"
        "Max-Forwards: 70\r\n"
        "X-Long: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxxxxxxxx\r\n"
        "Contact: <sip:amazinglylongcallernameamazinglylongcallernameamazinglylo"
        "ngcallernameamazinglylongcallernameamazinglylongcallername@host5.exampl"
        "e.net>\r\n"
        "Content-Type: application/sdp\r\n"
        "l: 242\r\n"
        "\r\n"
        "v=0\r\n"
        "o=alice 2890844526 2890844526 IN IP4 192.168.1.20\r\n"
        "s=-\r\n"
        "c=IN IP4 192.168.1.20\r\n"
        "t=0 0\r\n"
        "m=audio 49170 RTP/AVP 0 8 101\r\n"
        "a=rtpmap:0 PCMU/8000\r\n"
        "a=rtpmap:8 PCMA/8000\r\n"
        "a=rtpmap:101 telephone-event/8000\r\n"
        "a=fmtp:101 0-15\r\n"
        "a=ptime:20\r\n"
        "a=sendrecv\r\n"),
        .rc = 0, .err = SIPMSG_OK,
        .method = "INVITE",
        .ruri = "sip:user@example.com",
        .nhdrs = 14, .body_len = 242,
        .hdrs = {
            { SIPMSG_HDR_OTHER, "x-long", 0,
              CORPUS_VAL("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                  "xxxxxxxxxxxx") },
            { SIPMSG_HDR_VIA, NULL, 3,
              CORPUS_VAL("SIP/2.0/TCP sip30.example.com") },
            { SIPMSG_HDR_VIA, NULL, 2,
              CORPUS_VAL("SIP/2.0/TCP sip31.example.com") },
        },
    },
    {
        .name = "trailing_octets",
        CORPUS_TEXT("REGISTER sip:example.com SIP/2.0\r\n"
        "To: sip:j.user@example.com\r\n"
        "From: sip:j.user@example.com;tag=43251j3j324\r\n"
        "Max-Forwards: 8\r\n"
        "I: dblreq.0ha0isndaksdj99sdfafnl3lk233412\r\n"
        "Contact: sip:j.user@host.example.com\r\n"
        "CSeq: 8 REGISTER\r\n"
        "Via: SIP/2.0/UDP 192.0.2.125;branch=z9hG4bKkdjuw23492\r\n"
        "Content-Length: 0\r\n"
        "\r\n"
        "INVITE sip:joe@example.com SIP/2.0\r\n"
        "t: sip:joe@example.com\r\n"
        "From: sip:caller@example.net;tag=141334\r\n"
        "Max-Forwards: 8\r\n"
        "Call-ID: dblreq.0ha0isnda977644900765@192.0.2.15\r\n"
        "CSeq: 8 INVITE\r\n"
        "Via: SIP/2.0/UDP 192.0.2.15;branch=z9hG4bKkdjuw380234\r\n"
        "Content-Type: application/sdp\r\n"
        "Content-Length: 242\r\n"
        "\r\n"
        "v=0\r\n"
        "o=alice 2890844526 2890844526 IN IP4 192.168.1.20\r\n"
        "s=-\r\n"
        "c=IN IP4 192.168.1.20\r\n"
        "t=0 0\r\n"
        "m=audio 49170 RTP/AVP 0 8 101\r\n"
        "a=rtpmap:0 PCMU/8000\r\n"
        "a=rtpmap:8 PCMA/8000\r\n"
        "a=rtpmap:101 telephone-event/8000\r\n"
        "a=fmtp:101 0-15\r\n"
        "a=ptime:20\r\n"
        "a=sendrecv\r\n"),
        .rc = 0, .err = SIPMSG_OK,
        .method = "REGISTER",
        .ruri = "sip:example.com",
        .nhdrs = 8, .body_len = 0,
        .msg_len = 300,
    },
    {
        .name = "stream_two_messages",
        CORPUS_TEXT("REGISTER sip:example.com SIP/2.0\r\n"
        "To: sip:j.user@example.com\r\n"
        "From: sip:j.user@example.com;tag=43251j3j324\r\n"
        "Max-Forwards: 8\r\n"
        "I: dblreq.0ha0isndaksdj99sdfafnl3lk233412\r\n"
        "Contact: sip:j.user@host.example.com\r\n"
        "CSeq: 8 REGISTER\r\n"
        "Via: SIP/2.0/UDP 192.0.2.125;branch=z9hG4bKkdjuw23492\r\n"
        "Content-Length: 0\r\n"
        "\r\n"
        "INVITE sip:joe@example.com SIP/2.0\r\n"
        "t: sip:joe@example.com\r\n"
        "From: sip:caller@example.net;tag=141334\r\n"
        "Max-Forwards: 8\r\n"
        "Call-ID: dblreq.0ha0isnda977644900765@192.0.2.15\r\n"
        "CSeq: 8 INVITE\r\n"
        "Via: SIP/2.0/UDP 192.0.2.15;branch=z9hG4bKkdjuw380234\r\n"
        "Content-Type: application/sdp\r\n"
        "Content-Length: 242\r\n"
        "\r\n"
        "v=0\r\n"
        "o=alice 2890844526 2890844526 IN IP4 192.168.1.20\r\n"
        "s=-\r\n"
        "c=IN IP4 192.168.1.20\r\n"
        "t=0 0\r\n"
        "m=audio 49170 RTP/AVP 0 8 101\r\n"
        "a=rtpmap:0 PCMU/8000\r\n"
        "a=rtpmap:8 PCMA/8000\r\n"
        "a=rtpmap:101 telephone-event/8000\r\n"
        "a=fmtp:101 0-15\r\n"
        "a=ptime:20\r\n"
        "a=sendrecv\r\n"),
        .flags = SIPMSG_F_STREAM,
        .rc = 0, .err = SIPMSG_OK,
        .method = "REGISTER",
        .ruri = "sip:example.com",
        .nhdrs = 8, .body_len = 0,
        .msg_len = 300,
    },
    {
        .name = "semicolon_user",
        CORPUS_TEXT("OPTIONS sip:user;par=u%40example.net@example.com SIP/2.0\r\n"
        "To: sip:j_user@example.com\r\n"
        "From: sip:caller@example.org;tag=33242\r\n"
        "Max-Forwards: 3\r\n"
        "Call-ID: semiuri.0ha0isndaksdj\r\n"
        "CSeq: 8 OPTIONS\r\n"
        "Accept: application/sdp, application/pkcs7-mime,\r\n"
        "        multipart/mixed, multipart/signed,\r\n"
        "        message/sip, message/sipfrag\r\n"
        "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKkdjuw\r\n"
        "l: 0\r\n"
        "\r\n"),
        .rc = 0, .err = SIPMSG_OK,
        .method = "OPTIONS",
        .ruri = "sip:user;par=u%40example.net@example.com",
        .nhdrs = 8, .body_len = 0,
        .hdrs = {
            { SIPMSG_HDR_ACCEPT, NULL, 0,
              CORPUS_VAL("application/sdp, application/pkcs7-mime,\r\n"
                  "        multipart/mixed, multipart/signed,\r\n"
                  "        message/sip, message/sipfrag") },
        },
    },
    {
        .name = "via_transports",
        CORPUS_TEXT("OPTIONS sip:user@example.com SIP/2.0\r\n"
        "To: sip:user@example.com\r\n"
        "From: <sip:caller@example.com>;tag=323\r\n"
        "Max-Forwards: 70\r\n"
        "Call-ID:  transports.kijh4akdnaqjkwendsasfdj\r\n"
        "Accept: application/sdp\r\n"
        "CSeq: 60 OPTIONS\r\n"
        "Via: SIP/2.0/UDP t1.example.com;branch=z9hG4bKkdjuw\r\n"
        "Via: SIP/2.0/SCTP t2.example.com;branch=z9hG4bKklasjdhf\r\n"
        "Via: SIP/2.0/TLS t3.example.com;branch=z9hG4bK2980unddj\r\n"
        "Via: SIP/2.0/UNKNOWN t4.example.com;branch=z9hG4bKasd0f3en\r\n"
        "Via: SIP/2.0/TCP t5.example.com;branch=z9hG4bK0a9idfnee, SIP/2.0/WS t6."
        "example.com;branch=z9hG4bK77\r\n"
        "l: 0\r\n"
        "\r\n"),
        .rc = 0, .err = SIPMSG_OK,
        .method = "OPTIONS",
        .ruri = "sip:user@example.com",
        .nhdrs = 12, .body_len = 0,
        .hdrs = {
            { SIPMSG_HDR_CALL_ID, NULL, 0,
              CORPUS_VAL("transports.kijh4akdnaqjkwendsasfdj") },
            { SIPMSG_HDR_VIA, NULL, 4,
              CORPUS_VAL("SIP/2.0/TCP t5.example.com;branch=z9hG4bK0a9idfnee, SIP/2.0/WS t6.examp"
                  "le.com;branch=z9hG4bK77") },
        },
    },
    {
        .name = "multipart_body",
        CORPUS_TEXT("MESSAGE sip:kumiko@example.org SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.0.2.12:5060;branch=z9hG4bK93zx\r\n"
        "Max-Forwards: 70\r\n"
        "From: \"Kumiko\" <sip:kumiko@example.org>;tag=uq9d\r\n"
        "To: <sip:kumiko@example.org>\r\n"
        "Call-ID: mpart01.kd8Uj3@192.0.2.12\r\n"
        "CSeq: 1 MESSAGE\r\n"
        "Content-Type: multipart/mixed;boundary=boundary42\r\n"
        "Content-Length: 289\r\n"
        "\r\n"
        "--boundary42\r\n"
        "Content-Type: application/sdp\r\n"
        "\r\n"
        "v=0\r\n"
        "o=mhandley 29739 7272939 IN IP4 192.0.2.25\r\n"
        "s=-\r\n"
        "c=IN IP4 192.0.2.25\r\n"
        "t=0 0\r\n"
        "m=audio 49217 RTP/AVP 0 12\r\n"
        "\r\n"
        "--boundary42\r\n"
        "Content-Type: application/octet-stream\r\n"
        "Content-Transfer-Encoding: binary\r\n"
        "\r\n"
        "\000\001\002\377\376\r\n"
        "\r\n"
        "not a header\r\n"
        "--boundary42--\r\n"),
        .rc = 0, .err = SIPMSG_OK,
        .method = "MESSAGE",
        .ruri = "sip:kumiko@example.org",
        .nhdrs = 8, .body_len = 289,
    },
    {
        .name = "utf8_reason",
        CORPUS_TEXT("SIP/2.0 200 = 2**3 * 5**2 \320\275\320\276 \321\201\321\202\320\276 \320"
        "\264\320\265\320\262\321\217\320\275\320\276\321\201\321\202\320\276 \320"
        "\264\320\265\320\262\321\217\321\202\321\214\r\n"
        "Via: SIP/2.0/UDP 192.0.2.198;branch=z9hG4bK1324923\r\n"
        "Call-ID: unreason.1234ksdfak3j2erwedfsASdf\r\n"
        "CSeq: 35 INVITE\r\n"
        "From: sip:user@example.com;tag=11141343\r\n"
        "To: sip:user@example.edu;tag=2229\r\n"
        "Content-Length: 242\r\n"
        "Content-Type: application/sdp\r\n"
        "Contact: <sip:user@host198.example.com>\r\n"
        "\r\n"
        "v=0\r\n"
        "o=alice 2890844526 2890844526 IN IP4 192.168.1.20\r\n"
        "s=-\r\n"
        "c=IN IP4 192.168.1.20\r\n"
        "t=0 0\r\n"
        "m=audio 49170 RTP/AVP 0 8 101\r\n"
        "a=rtpmap:0 PCMU/8000\r\n"
        "a=rtpmap:8 PCMA/8000\r\n"
        "a=rtpmap:101 telephone-event/8000\r\n"
        "a=fmtp:101 0-15\r\n"
        "a=ptime:20\r\n"
        "a=sendrecv\r\n"),
        .rc = 0, .err = SIPMSG_OK,
        .status = 200,
        .reason = "= 2**3 * 5**2 \320\275\320\276 \321\201\321\202\320\276 \320\264\320\265"
            "\320\262\321\217\320\275\320\276\321\201\321\202\320\276 \320\264\320\265"
            "\320\262\321\217\321\202\321\214",
        .nhdrs = 8, .body_len = 242,
    },
    {
        .name = "empty_reason",
        CORPUS_TEXT("SIP/2.0 100 \r\n"
        "Via: SIP/2.0/UDP 192.0.2.105;branch=z9hG4bK2398ndaoe\r\n"
        "Call-ID: noreason.asndj203insdf99223ndf\r\n"
        "CSeq: 35 INVITE\r\n"
        "From: <sip:user@example.com>;tag=39ansfi3\r\n"
        "To: <sip:user@example.edu>;tag=902jndnke3\r\n"
        "Content-Length: 0\r\n"
        "Contact: <sip:user@host105.example.com>\r\n"
        "\r\n"),
        .rc = 0, .err = SIPMSG_OK,
        .status = 100,
        .reason = "",
        .nhdrs = 7, .body_len = 0,
    },
    {
        .name = "no_reason_no_sp",
        CORPUS_TEXT("SIP/2.0 180\r\n"
        "Via: SIP/2.0/UDP 192.0.2.105;branch=z9hG4bK2398ndaoe\r\n"
        "Call-ID: noreason.asndj203insdf99223ndf\r\n"
        "CSeq: 35 INVITE\r\n"
        "From: <sip:user@example.com>;tag=39ansfi3\r\n"
        "To: <sip:user@example.edu>;tag=902jndnke3\r\n"
        "Content-Length: 0\r\n"
        "Contact: <sip:user@host105.example.com>\r\n"
        "\r\n"),
        .rc = 0, .err = SIPMSG_OK,
        .status = 180,
        .reason = "",
        .nhdrs = 7, .body_len = 0,
    },
    {
        .name = "ipv6_register",
        CORPUS_TEXT("REGISTER sip:[2001:db8::10] SIP/2.0\r\n"
        "To: sip:user@example.com\r\n"
        "From: sip:user@example.com;tag=81x2\r\n"
        "Via: SIP/2.0/UDP [2001:db8::9:1]:5070;branch=z9hG4bKas3-111\r\n"
        "Call-ID: SSG9559905523997077@hlau_4100\r\n"
        "Max-Forwards: 70\r\n"
        "Contact: \"Caller\" <sip:caller@[2001:db8::9:1]:5070>;+sip.instance=\"<"
        "urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>\";reg-id=1\r\n"
        "CSeq: 98176 REGISTER\r\n"
        "Content-Length: 0\r\n"
        "\r\n"),
        .rc = 0, .err = SIPMSG_OK,
        .method = "REGISTER",
        .ruri = "sip:[2001:db8::10]",
        .nhdrs = 8, .body_len = 0,
        .hdrs = {
            { SIPMSG_HDR_VIA, NULL, 0,
              CORPUS_VAL("SIP/2.0/UDP [2001:db8::9:1]:5070;branch=z9hG4bKas3-111") },
        },
    },
    {
        .name = "ipv6_invite",
        CORPUS_TEXT("INVITE sip:user@[2001:db8::10]:5060 SIP/2.0\r\n"
        "To: sip:user@[2001:db8::10]\r\n"
        "From: sip:user@example.com;tag=81x2\r\n"
        "Via: SIP/2.0/UDP [2001:db8::9:1];received=[2001:db8::9:255];branch=z9hG"
        "4bKas3-111\r\n"
        "Call-ID: SSG9559905523997077@hlau_4100\r\n"
        "Max-Forwards: 70\r\n"
        "Contact: \"Caller\" <sip:caller@[2001:db8::9:1]>\r\n"
        "CSeq: 8612 INVITE\r\n"
        "Content-Type: application/sdp\r\n"
        "Content-Length: 135\r\n"
        "\r\n"
        "v=0\r\n"
        "o=carol 53655765 2353687637 IN IP6 2001:db8::10\r\n"
        "s=-\r\n"
        "c=IN IP6 2001:db8::10\r\n"
        "t=0 0\r\n"
        "m=audio 3456 RTP/AVP 0\r\n"
        "a=rtpmap:0 PCMU/8000\r\n"),
        .rc = 0, .err = SIPMSG_OK,
        .method = "INVITE",
        .ruri = "sip:user@[2001:db8::10]:5060",
        .nhdrs = 9, .body_len = 135,
    },
    {
        .name = "multi_contact",
        CORPUS_TEXT("REGISTER sip:example.com SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK-mc-1\r\n"
        "From: <sip:alice@example.com>;tag=mc1\r\n"
        "To: <sip:alice@example.com>\r\n"
        "Call-ID: multicontact-77@10.0.0.5\r\n"
        "CSeq: 2 REGISTER\r\n"
        "Contact: \"a,b\" <sip:x@y;a=1,2>, <sip:z@w>\r\n"
        "m: sip:q@r;expires=30 , \"Esc \\\"q,\\\\\" <sip:e@f> ;q=0.5\r\n"
        "Contact: *\r\n"
        "Expires: 0\r\n"
        "Content-Length: 0\r\n"
        "\r\n"),
        .rc = 0, .err = SIPMSG_OK,
        .method = "REGISTER",
        .ruri = "sip:example.com",
        .nhdrs = 10, .body_len = 0,
    },
    {
        .name = "resp_401",
        CORPUS_TEXT("SIP/2.0 401 Unauthorized\r\n"
        "Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bK-524287-1---a1b2c3d4e5"
        "f6;rport=5060;received=203.0.113.7\r\n"
        "From: \"2001\" <sip:2001@sip.example.net>;tag=8a1f3c2e\r\n"
        "To: \"2001\" <sip:2001@sip.example.net>;tag=as5d2e6b1a\r\n"
        "Call-ID: 5b7c9e1f-2a3d-4e5f-8a9b-0c1d2e3f4a5b@192.168.1.20\r\n"
        "CSeq: 42 REGISTER\r\n"
        "Server: Asterisk PBX 18.10.0\r\n"
        "WWW-Authenticate: Digest algorithm=MD5, realm=\"asterisk\", nonce=\"1a2"
        "b3c4d\", qop=\"auth,auth-int\"\r\n"
        "WWW-Authenticate: Digest algorithm=SHA-256, realm=\"asterisk\", nonce=\""
        "5e6f\"\r\n"
        "Content-Length: 0\r\n"
        "\r\n"),
        .rc = 0, .err = SIPMSG_OK,
        .status = 401,
        .reason = "Unauthorized",
        .nhdrs = 9, .body_len = 0,
    },
    {
        .name = "resp_200_register",
        CORPUS_TEXT("SIP/2.0 200 OK\r\n"
        "Via: SIP/2.0/TCP 198.51.100.3:50412;branch=z9hG4bKsk-1;rport=50412;rece"
        "ived=198.51.100.3\r\n"
        "From: <sip:2001@sip.example.net>;tag=8a1f3c2e\r\n"
        "To: <sip:2001@sip.example.net>;tag=b27e1a\r\n"
        "Call-ID: 5b7c9e1f-2a3d-4e5f-8a9b-0c1d2e3f4a5b@192.168.1.20\r\n"
        "CSeq: 43 REGISTER\r\n"
        "Contact: <sip:2001@192.168.1.20:5060;transport=udp>;expires=3600;+sip.i"
        "nstance=\"<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>\";reg-id=1, <"
        "sip:2001@10.9.9.9>;expires=12\r\n"
        "Require: outbound\r\n"
        "Flow-Timer: 29\r\n"
        "k: outbound, path , gruu\r\n"
        "Path: <sip:edge.example.net;lr;ob>\r\n"
        "Date: Sat, 13 Nov 2010 23:29:00 GMT\r\n"
        "Content-Length: 0\r\n"
        "\r\n"),
        .flags = SIPMSG_F_STREAM,
        .rc = 0, .err = SIPMSG_OK,
        .status = 200,
        .reason = "OK",
        .nhdrs = 12, .body_len = 0,
        .hdrs = {
            { SIPMSG_HDR_FLOW_TIMER, NULL, 0,
              CORPUS_VAL("29") },
            { SIPMSG_HDR_REQUIRE, NULL, 0,
              CORPUS_VAL("outbound") },
            { SIPMSG_HDR_SUPPORTED, NULL, 0,
              CORPUS_VAL("outbound, path , gruu") },
            { SIPMSG_HDR_DATE, NULL, 0,
              CORPUS_VAL("Sat, 13 Nov 2010 23:29:00 GMT") },
        },
    },
    {
        .name = "resp_180_rr",
        CORPUS_TEXT("SIP/2.0 180 Ringing\r\n"
        "Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bKnashds8;rport=5060\r\n"
        "Record-Route: <sip:p2.example.com;lr>, <sip:p1.example.com;lr>\r\n"
        "Record-Route: <sip:edge.example.net;lr;ob>\r\n"
        "To: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf\r\n"
        "From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
        "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
        "Contact: <sip:bob@192.0.2.4>\r\n"
        "CSeq: 314159 INVITE\r\n"
        "Content-Length: 0\r\n"
        "\r\n"),
        .rc = 0, .err = SIPMSG_OK,
        .status = 180,
        .reason = "Ringing",
        .nhdrs = 9, .body_len = 0,
    },
    {
        .name = "resp_302",
        CORPUS_TEXT("SIP/2.0 302 Moved Temporarily\r\n"
        "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK74bf9\r\n"
        "From: <sip:a@example.com>;tag=9fxced76sl\r\n"
        "To: <sip:b@example.com>;tag=314159\r\n"
        "Call-ID: 3848276298220188511@192.0.2.1\r\n"
        "CSeq: 2 INVITE\r\n"
        "Contact: <sip:b@192.0.2.30>;q=0.7, <sip:b@192.0.2.31>;q=0.2,\r\n"
        "  <sip:b@192.0.2.32>\r\n"
        "Content-Length: 0\r\n"
        "\r\n"),
        .rc = 0, .err = SIPMSG_OK,
        .status = 302,
        .reason = "Moved Temporarily",
        .nhdrs = 7, .body_len = 0,
    },
    {
        .name = "resp_503",
        CORPUS_TEXT("SIP/2.0 503 Service Unavailable\r\n"
        "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK74bf9\r\n"
        "From: <sip:a@example.com>;tag=9fxced76sl\r\n"
        "To: <sip:b@example.com>;tag=ab\r\n"
        "Call-ID: 3848276298220188511@192.0.2.1\r\n"
        "CSeq: 2 INVITE\r\n"
        "Retry-After: 120 (maintenance, back soon);duration=3600\r\n"
        "Warning: 399 example.com \"Overloaded, try later\"\r\n"
        "Content-Length: 0\r\n"
        "\r\n"),
        .rc = 0, .err = SIPMSG_OK,
        .status = 503,
        .reason = "Service Unavailable",
        .nhdrs = 8, .body_len = 0,
    },
    {
        .name = "resp_603_compact",
        CORPUS_TEXT("SIP/2.0 603 Decline\r\n"
        "v: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK74bf9\r\n"
        "f: <sip:a@example.com>;tag=9fxced76sl\r\n"
        "t: <sip:b@example.com>;tag=ab\r\n"
        "i: 3848276298220188511@192.0.2.1\r\n"
        "CSeq: 2 INVITE\r\n"
        "l: 0\r\n"
        "\r\n"),
        .rc = 0, .err = SIPMSG_OK,
        .status = 603,
        .reason = "Decline",
        .nhdrs = 6, .body_len = 0,
    },
    {
        .name = "ack",
        CORPUS_TEXT("ACK sip:bob@192.0.2.4 SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bKnashds9\r\n"
        "Max-Forwards: 70\r\n"
        "From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
        "To: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf\r\n"
        "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
        "CSeq: 314160 ACK\r\n"
        "Content-Length: 0\r\n"
        "\r\n"),
        .rc = 0, .err = SIPMSG_OK,
        .method = "ACK",
        .ruri = "sip:bob@192.0.2.4",
        .nhdrs = 7, .body_len = 0,
    },
    {
        .name = "bye",
        CORPUS_TEXT("BYE sip:bob@192.0.2.4 SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bKnashds9\r\n"
        "Max-Forwards: 70\r\n"
        "From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
        "To: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf\r\n"
        "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
        "CSeq: 314160 BYE\r\n"
        "Content-Length: 0\r\n"
        "\r\n"),
        .rc = 0, .err = SIPMSG_OK,
        .method = "BYE",
        .ruri = "sip:bob@192.0.2.4",
        .nhdrs = 7, .body_len = 0,
    },
    {
        .name = "cancel",
        CORPUS_TEXT("CANCEL sip:bob@192.0.2.4 SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bKnashds9\r\n"
        "Max-Forwards: 70\r\n"
        "From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
        "To: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf\r\n"
        "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
        "CSeq: 314160 CANCEL\r\n"
        "Content-Length: 0\r\n"
        "\r\n"),
        .rc = 0, .err = SIPMSG_OK,
        .method = "CANCEL",
        .ruri = "sip:bob@192.0.2.4",
        .nhdrs = 7, .body_len = 0,
    },
    {
        .name = "notify_compact",
        CORPUS_TEXT("NOTIFY sip:bob@192.0.2.4 SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bKnashds9\r\n"
        "Max-Forwards: 70\r\n"
        "From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
        "To: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf\r\n"
        "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
        "CSeq: 314160 NOTIFY\r\n"
        "o: presence;id=7\r\n"
        "Subscription-State: active;expires=599\r\n"
        "u: presence, dialog\r\n"
        "c: text/plain\r\n"
        "Content-Length: 14\r\n"
        "\r\n"
        "hello, world\r\n"),
        .rc = 0, .err = SIPMSG_OK,
        .method = "NOTIFY",
        .ruri = "sip:bob@192.0.2.4",
        .nhdrs = 11, .body_len = 14,
        .hdrs = {
            { SIPMSG_HDR_EVENT, NULL, 0,
              CORPUS_VAL("presence;id=7") },
            { SIPMSG_HDR_ALLOW_EVENTS, NULL, 0,
              CORPUS_VAL("presence, dialog") },
            { SIPMSG_HDR_SUBSCRIPTION_STATE, NULL, 0,
              CORPUS_VAL("active;expires=599") },
        },
    },
    {
        .name = "refer_compact",
        CORPUS_TEXT("REFER sip:bob@192.0.2.4 SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bKnashds9\r\n"
        "Max-Forwards: 70\r\n"
        "From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
        "To: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf\r\n"
        "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
        "CSeq: 314160 REFER\r\n"
        "r: <sip:carol@example.com\?Replaces=abc%40def>\r\n"
        "b: <sip:alice@atlanta.example.com>\r\n"
        "x: 1800;refresher=uac\r\n"
        "e: gzip\r\n"
        "Content-Length: 0\r\n"
        "\r\n"),
        .rc = 0, .err = SIPMSG_OK,
        .method = "REFER",
        .ruri = "sip:bob@192.0.2.4",
        .nhdrs = 11, .body_len = 0,
        .hdrs = {
            { SIPMSG_HDR_REFER_TO, NULL, 0,
              CORPUS_VAL("<sip:carol@example.com\?Replaces=abc%40def>") },
            { SIPMSG_HDR_REFERRED_BY, NULL, 0,
              CORPUS_VAL("<sip:alice@atlanta.example.com>") },
            { SIPMSG_HDR_SESSION_EXPIRES, NULL, 0,
              CORPUS_VAL("1800;refresher=uac") },
            { SIPMSG_HDR_CONTENT_ENCODING, NULL, 0,
              CORPUS_VAL("gzip") },
        },
    },
    {
        .name = "no_clen_datagram",
        CORPUS_TEXT("MESSAGE sip:bob@example.com SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.168.1.20;branch=z9hG4bK776sgdkse\r\n"
        "Max-Forwards: 70\r\n"
        "From: sip:alice@example.com;tag=49583\r\n"
        "To: sip:bob@example.com\r\n"
        "Call-ID: asd88asd77a@1.2.3.4\r\n"
        "CSeq: 1 MESSAGE\r\n"
        "Content-Type: text/plain\r\n"
        "\r\n"
        "Watson, come here.\r\n"
        "I want to see you."),
        .rc = 0, .err = SIPMSG_OK,
        .method = "MESSAGE",
        .ruri = "sip:bob@example.com",
        .nhdrs = 7, .body_len = 38,
    },
    {
        .name = "no_clen_stream",
        CORPUS_TEXT("MESSAGE sip:bob@example.com SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.168.1.20;branch=z9hG4bK776sgdkse\r\n"
        "Max-Forwards: 70\r\n"
        "From: sip:alice@example.com;tag=49583\r\n"
        "To: sip:bob@example.com\r\n"
        "Call-ID: asd88asd77a@1.2.3.4\r\n"
        "CSeq: 1 MESSAGE\r\n"
        "Content-Type: text/plain\r\n"
        "\r\n"
        "Watson, come here.\r\n"
        "I want to see you."),
        .flags = SIPMSG_F_STREAM,
        .rc = -EBADMSG, .err = SIPMSG_E_CLEN_MISSING,
    },
    {
        .name = "whitespace_case",
        CORPUS_TEXT("OPTIONS sip:carol@chicago.example.com SIP/2.0\r\n"
        "via:SIP/2.0/UDP pc33.example.com;branch=z9hG4bKhjhs8ass877\r\n"
        "MAX-FORWARDS :\t70\r\n"
        "TO\t:\t<sip:carol@chicago.example.com>\t\r\n"
        "fRoM:Alice <sip:alice@example.com>;tag=1928301774   \r\n"
        "CALL-ID \t : a84b4c76e66710\r\n"
        "cSeQ: 63104 OPTIONS\r\n"
        "Subject:\r\n"
        "X-Empty:    \t \r\n"
        "Contact: <sip:alice@pc33.example.com>\r\n"
        "Accept: application/sdp\r\n"
        "content-length:0\r\n"
        "\r\n"),
        .rc = 0, .err = SIPMSG_OK,
        .method = "OPTIONS",
        .ruri = "sip:carol@chicago.example.com",
        .nhdrs = 11, .body_len = 0,
        .hdrs = {
            { SIPMSG_HDR_VIA, NULL, 0,
              CORPUS_VAL("SIP/2.0/UDP pc33.example.com;branch=z9hG4bKhjhs8ass877") },
            { SIPMSG_HDR_MAX_FORWARDS, NULL, 0,
              CORPUS_VAL("70") },
            { SIPMSG_HDR_TO, NULL, 0,
              CORPUS_VAL("<sip:carol@chicago.example.com>") },
            { SIPMSG_HDR_FROM, NULL, 0,
              CORPUS_VAL("Alice <sip:alice@example.com>;tag=1928301774") },
            { SIPMSG_HDR_CALL_ID, NULL, 0,
              CORPUS_VAL("a84b4c76e66710") },
            { SIPMSG_HDR_SUBJECT, NULL, 0,
              CORPUS_VAL("") },
            { SIPMSG_HDR_OTHER, "x-empty", 0,
              CORPUS_VAL("") },
            { SIPMSG_HDR_CONTENT_LENGTH, NULL, 0,
              CORPUS_VAL("0") },
        },
    },
    {
        .name = "dup_clen_equal",
        CORPUS_TEXT("INFO sip:bob@192.0.2.4 SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bKinfo\r\n"
        "From: <sip:alice@atlanta.example.com>;tag=1\r\n"
        "To: <sip:bob@biloxi.example.com>;tag=2\r\n"
        "Call-ID: dupcl@1\r\n"
        "CSeq: 5 INFO\r\n"
        "Content-Length:   0004  \r\n"
        "Content-Type: application/dtmf\r\n"
        "Content-Length: 4\r\n"
        "\r\n"
        "5\r\n"
        "\r\n"),
        .rc = 0, .err = SIPMSG_OK,
        .method = "INFO",
        .ruri = "sip:bob@192.0.2.4",
        .nhdrs = 8, .body_len = 4,
        .msg_len = 287,
    },
    {
        .name = "unterminated_quote",
        CORPUS_TEXT("INVITE sip:user@example.com SIP/2.0\r\n"
        "To: \"Mr. J. User <sip:j.user@example.com>\r\n"
        "From: sip:caller@example.net;tag=93334\r\n"
        "Max-Forwards: 10\r\n"
        "Call-ID: quotbal.aksdj\r\n"
        "Contact: <sip:caller@host59.example.net>\r\n"
        "CSeq: 8 INVITE\r\n"
        "Via: SIP/2.0/UDP 192.0.2.59:5050;branch=z9hG4bKkdjuw39234\r\n"
        "Content-Type: application/sdp\r\n"
        "Content-Length: 242\r\n"
        "\r\n"
        "v=0\r\n"
        "o=alice 2890844526 2890844526 IN IP4 192.168.1.20\r\n"
        "s=-\r\n"
        "c=IN IP4 192.168.1.20\r\n"
        "t=0 0\r\n"
        "m=audio 49170 RTP/AVP 0 8 101\r\n"
        "a=rtpmap:0 PCMU/8000\r\n"
        "a=rtpmap:8 PCMA/8000\r\n"
        "a=rtpmap:101 telephone-event/8000\r\n"
        "a=fmtp:101 0-15\r\n"
        "a=ptime:20\r\n"
        "a=sendrecv\r\n"),
        .rc = 0, .err = SIPMSG_OK,
        .method = "INVITE",
        .ruri = "sip:user@example.com",
        .nhdrs = 9, .body_len = 242,
        .hdrs = {
            { SIPMSG_HDR_TO, NULL, 0,
              CORPUS_VAL("\"Mr. J. User <sip:j.user@example.com>") },
        },
    },
    {
        .name = "odd_but_parseable",
        CORPUS_TEXT("OPTIONS soap.beep://192.0.2.103:3002 SIP/2.0\r\n"
        "To: sip:t.watson@example.org\r\n"
        "From: Watson <sip:t.watson@example.org>;tag=33242\r\n"
        "Max-Forwards: 0\r\n"
        "Call-ID: odd.0ha0isndaksdj\r\n"
        "Date: Fri, 01 Jan 2010 16:00:00 EST\r\n"
        "CSeq: 8 OPTIONS\r\n"
        "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKkdjuw\r\n"
        "Proxy-Require: noProxiesSupportThis, nor-this\r\n"
        "Require: nothingSupportsThis, nothingSupportsThisEither\r\n"
        "Unsupported: foo\r\n"
        "Authorization: NoOneKnowsThisScheme opaque-data=here, more=\"a,b\"\r\n"
        "l: 0\r\n"
        "\r\n"),
        .rc = 0, .err = SIPMSG_OK,
        .method = "OPTIONS",
        .ruri = "soap.beep://192.0.2.103:3002",
        .nhdrs = 12, .body_len = 0,
        .hdrs = {
            { SIPMSG_HDR_AUTHORIZATION, NULL, 0,
              CORPUS_VAL("NoOneKnowsThisScheme opaque-data=here, more=\"a,b\"") },
            { SIPMSG_HDR_PROXY_REQUIRE, NULL, 0,
              CORPUS_VAL("noProxiesSupportThis, nor-this") },
        },
    },
    {
        .name = "start_two_elems",
        CORPUS_TEXT("REGISTER sip:sip.example.net\r\n"
        "Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bK-524287-1---a1b2c3d4e5"
        "f6;rport\r\n"
        "Max-Forwards: 70\r\n"
        "Contact: <sip:2001@192.168.1.20:5060;transport=udp>;expires=3600\r\n"
        "To: \"2001\" <sip:2001@sip.example.net>\r\n"
        "From: \"2001\" <sip:2001@sip.example.net>;tag=8a1f3c2e\r\n"
        "Call-ID: 5b7c9e1f-2a3d-4e5f-8a9b-0c1d2e3f4a5b@192.168.1.20\r\n"
        "CSeq: 42 REGISTER\r\n"
        "Expires: 3600\r\n"
        "Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, INFO,"
        " SUBSCRIBE\r\n"
        "Supported: replaces, path, timer\r\n"
        "User-Agent: Grandstream GXP1625 1.0.4.138\r\n"
        "Content-Length: 0\r\n"
        "\r\n"),
        .rc = -EBADMSG, .err = SIPMSG_E_START_LINE,
    },
    {
        .name = "start_lws",
        CORPUS_TEXT("REGISTER  sip:sip.example.net SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bK-524287-1---a1b2c3d4e5"
        "f6;rport\r\n"
        "Max-Forwards: 70\r\n"
        "Contact: <sip:2001@192.168.1.20:5060;transport=udp>;expires=3600\r\n"
        "To: \"2001\" <sip:2001@sip.example.net>\r\n"
        "From: \"2001\" <sip:2001@sip.example.net>;tag=8a1f3c2e\r\n"
        "Call-ID: 5b7c9e1f-2a3d-4e5f-8a9b-0c1d2e3f4a5b@192.168.1.20\r\n"
        "CSeq: 42 REGISTER\r\n"
        "Expires: 3600\r\n"
        "Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, INFO,"
        " SUBSCRIBE\r\n"
        "Supported: replaces, path, timer\r\n"
        "User-Agent: Grandstream GXP1625 1.0.4.138\r\n"
        "Content-Length: 0\r\n"
        "\r\n"),
        .rc = -EBADMSG, .err = SIPMSG_E_START_LINE,
    },
    {
        .name = "start_trailing_sp",
        CORPUS_TEXT("REGISTER sip:sip.example.net SIP/2.0 \r\n"
        "Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bK-524287-1---a1b2c3d4e5"
        "f6;rport\r\n"
        "Max-Forwards: 70\r\n"
        "Contact: <sip:2001@192.168.1.20:5060;transport=udp>;expires=3600\r\n"
        "To: \"2001\" <sip:2001@sip.example.net>\r\n"
        "From: \"2001\" <sip:2001@sip.example.net>;tag=8a1f3c2e\r\n"
        "Call-ID: 5b7c9e1f-2a3d-4e5f-8a9b-0c1d2e3f4a5b@192.168.1.20\r\n"
        "CSeq: 42 REGISTER\r\n"
        "Expires: 3600\r\n"
        "Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, INFO,"
        " SUBSCRIBE\r\n"
        "Supported: replaces, path, timer\r\n"
        "User-Agent: Grandstream GXP1625 1.0.4.138\r\n"
        "Content-Length: 0\r\n"
        "\r\n"),
        .rc = -EBADMSG, .err = SIPMSG_E_START_LINE,
    },
    {
        .name = "ruri_lws",
        CORPUS_TEXT("INVITE sip:user@example.com; lr SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bK-524287-1---a1b2c3d4e5"
        "f6;rport\r\n"
        "Max-Forwards: 70\r\n"
        "Contact: <sip:2001@192.168.1.20:5060;transport=udp>;expires=3600\r\n"
        "To: \"2001\" <sip:2001@sip.example.net>\r\n"
        "From: \"2001\" <sip:2001@sip.example.net>;tag=8a1f3c2e\r\n"
        "Call-ID: 5b7c9e1f-2a3d-4e5f-8a9b-0c1d2e3f4a5b@192.168.1.20\r\n"
        "CSeq: 42 REGISTER\r\n"
        "Expires: 3600\r\n"
        "Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, INFO,"
        " SUBSCRIBE\r\n"
        "Supported: replaces, path, timer\r\n"
        "User-Agent: Grandstream GXP1625 1.0.4.138\r\n"
        "Content-Length: 0\r\n"
        "\r\n"),
        .rc = -EBADMSG, .err = SIPMSG_E_RURI,
    },
    {
        .name = "ruri_angle",
        CORPUS_TEXT("REGISTER <sip:sip.example.net> SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bK-524287-1---a1b2c3d4e5"
        "f6;rport\r\n"
        "Max-Forwards: 70\r\n"
        "Contact: <sip:2001@192.168.1.20:5060;transport=udp>;expires=3600\r\n"
        "To: \"2001\" <sip:2001@sip.example.net>\r\n"
        "From: \"2001\" <sip:2001@sip.example.net>;tag=8a1f3c2e\r\n"
        "Call-ID: 5b7c9e1f-2a3d-4e5f-8a9b-0c1d2e3f4a5b@192.168.1.20\r\n"
        "CSeq: 42 REGISTER\r\n"
        "Expires: 3600\r\n"
        "Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, INFO,"
        " SUBSCRIBE\r\n"
        "Supported: replaces, path, timer\r\n"
        "User-Agent: Grandstream GXP1625 1.0.4.138\r\n"
        "Content-Length: 0\r\n"
        "\r\n"),
        .rc = -EBADMSG, .err = SIPMSG_E_RURI,
    },
    {
        .name = "bad_method",
        CORPUS_TEXT("REG(ISTER sip:sip.example.net SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bK-524287-1---a1b2c3d4e5"
        "f6;rport\r\n"
        "Max-Forwards: 70\r\n"
        "Contact: <sip:2001@192.168.1.20:5060;transport=udp>;expires=3600\r\n"
        "To: \"2001\" <sip:2001@sip.example.net>\r\n"
        "From: \"2001\" <sip:2001@sip.example.net>;tag=8a1f3c2e\r\n"
        "Call-ID: 5b7c9e1f-2a3d-4e5f-8a9b-0c1d2e3f4a5b@192.168.1.20\r\n"
        "CSeq: 42 REGISTER\r\n"
        "Expires: 3600\r\n"
        "Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, INFO,"
        " SUBSCRIBE\r\n"
        "Supported: replaces, path, timer\r\n"
        "User-Agent: Grandstream GXP1625 1.0.4.138\r\n"
        "Content-Length: 0\r\n"
        "\r\n"),
        .rc = -EBADMSG, .err = SIPMSG_E_METHOD,
    },
    {
        .name = "version_7",
        CORPUS_TEXT("REGISTER sip:sip.example.net SIP/7.0\r\n"
        "Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bK-524287-1---a1b2c3d4e5"
        "f6;rport\r\n"
        "Max-Forwards: 70\r\n"
        "Contact: <sip:2001@192.168.1.20:5060;transport=udp>;expires=3600\r\n"
        "To: \"2001\" <sip:2001@sip.example.net>\r\n"
        "From: \"2001\" <sip:2001@sip.example.net>;tag=8a1f3c2e\r\n"
        "Call-ID: 5b7c9e1f-2a3d-4e5f-8a9b-0c1d2e3f4a5b@192.168.1.20\r\n"
        "CSeq: 42 REGISTER\r\n"
        "Expires: 3600\r\n"
        "Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, INFO,"
        " SUBSCRIBE\r\n"
        "Supported: replaces, path, timer\r\n"
        "User-Agent: Grandstream GXP1625 1.0.4.138\r\n"
        "Content-Length: 0\r\n"
        "\r\n"),
        .rc = -EBADMSG, .err = SIPMSG_E_VERSION,
    },
    {
        .name = "version_garbage",
        CORPUS_TEXT("REGISTER sip:sip.example.net SIP/2\r\n"
        "Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bK-524287-1---a1b2c3d4e5"
        "f6;rport\r\n"
        "Max-Forwards: 70\r\n"
        "Contact: <sip:2001@192.168.1.20:5060;transport=udp>;expires=3600\r\n"
        "To: \"2001\" <sip:2001@sip.example.net>\r\n"
        "From: \"2001\" <sip:2001@sip.example.net>;tag=8a1f3c2e\r\n"
        "Call-ID: 5b7c9e1f-2a3d-4e5f-8a9b-0c1d2e3f4a5b@192.168.1.20\r\n"
        "CSeq: 42 REGISTER\r\n"
        "Expires: 3600\r\n"
        "Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, INFO,"
        " SUBSCRIBE\r\n"
        "Supported: replaces, path, timer\r\n"
        "User-Agent: Grandstream GXP1625 1.0.4.138\r\n"
        "Content-Length: 0\r\n"
        "\r\n"),
        .rc = -EBADMSG, .err = SIPMSG_E_START_LINE,
    },
    {
        .name = "resp_version",
        CORPUS_TEXT("SIP/2.1 603 Decline\r\n"
        "v: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK74bf9\r\n"
        "f: <sip:a@example.com>;tag=9fxced76sl\r\n"
        "t: <sip:b@example.com>;tag=ab\r\n"
        "i: 3848276298220188511@192.0.2.1\r\n"
        "CSeq: 2 INVITE\r\n"
        "l: 0\r\n"
        "\r\n"),
        .rc = -EBADMSG, .err = SIPMSG_E_VERSION,
    },
    {
        .name = "status_99",
        CORPUS_TEXT("SIP/2.0 99 Decline\r\n"
        "v: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK74bf9\r\n"
        "f: <sip:a@example.com>;tag=9fxced76sl\r\n"
        "t: <sip:b@example.com>;tag=ab\r\n"
        "i: 3848276298220188511@192.0.2.1\r\n"
        "CSeq: 2 INVITE\r\n"
        "l: 0\r\n"
        "\r\n"),
        .rc = -EBADMSG, .err = SIPMSG_E_STATUS,
    },
    {
        .name = "status_700",
        CORPUS_TEXT("SIP/2.0 700 Decline\r\n"
        "v: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK74bf9\r\n"
        "f: <sip:a@example.com>;tag=9fxced76sl\r\n"
        "t: <sip:b@example.com>;tag=ab\r\n"
        "i: 3848276298220188511@192.0.2.1\r\n"
        "CSeq: 2 INVITE\r\n"
        "l: 0\r\n"
        "\r\n"),
        .rc = -EBADMSG, .err = SIPMSG_E_STATUS,
    },
    {
        .name = "status_huge",
        CORPUS_TEXT("SIP/2.0 4294967301 better not break the receiver\r\n"
        "v: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK74bf9\r\n"
        "f: <sip:a@example.com>;tag=9fxced76sl\r\n"
        "t: <sip:b@example.com>;tag=ab\r\n"
        "i: 3848276298220188511@192.0.2.1\r\n"
        "CSeq: 2 INVITE\r\n"
        "l: 0\r\n"
        "\r\n"),
        .rc = -EBADMSG, .err = SIPMSG_E_STATUS,
    },
    {
        .name = "no_empty_line",
        CORPUS_TEXT("REGISTER sip:sip.example.net SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bK-524287-1---a1b2c3d4e5"
        "f6;rport\r\n"
        "Max-Forwards: 70\r\n"
        "Contact: <sip:2001@192.168.1.20:5060;transport=udp>;expires=3600\r\n"
        "To: \"2001\" <sip:2001@sip.example.net>\r\n"
        "From: \"2001\" <sip:2001@sip.example.net>;tag=8a1f3c2e\r\n"
        "Call-ID: 5b7c9e1f-2a3d-4e5f-8a9b-0c1d2e3f4a5b@192.168.1.20\r\n"
        "CSeq: 42 REGISTER\r\n"
        "Expires: 3600\r\n"
        "Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, INFO,"
        " SUBSCRIBE\r\n"
        "Supported: replaces, path, timer\r\n"
        "User-Agent: Grandstream GXP1625 1.0.4.138\r\n"
        "Content-Length: 0\r\n"),
        .rc = -EBADMSG, .err = SIPMSG_E_UNTERMINATED,
    },
    {
        .name = "clen_too_big",
        CORPUS_TEXT("REGISTER sip:sip.example.net SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bK-524287-1---a1b2c3d4e5"
        "f6;rport\r\n"
        "Max-Forwards: 70\r\n"
        "Contact: <sip:2001@192.168.1.20:5060;transport=udp>;expires=3600\r\n"
        "To: \"2001\" <sip:2001@sip.example.net>\r\n"
        "From: \"2001\" <sip:2001@sip.example.net>;tag=8a1f3c2e\r\n"
        "Call-ID: 5b7c9e1f-2a3d-4e5f-8a9b-0c1d2e3f4a5b@192.168.1.20\r\n"
        "CSeq: 42 REGISTER\r\n"
        "Expires: 3600\r\n"
        "Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, INFO,"
        " SUBSCRIBE\r\n"
        "Supported: replaces, path, timer\r\n"
        "User-Agent: Grandstream GXP1625 1.0.4.138\r\n"
        "Content-Length: 9999\r\n"
        "\r\n"
        "v=0\r\n"),
        .rc = -EBADMSG, .err = SIPMSG_E_CLEN_EXCEEDS,
    },
    {
        .name = "clen_negative",
        CORPUS_TEXT("REGISTER sip:sip.example.net SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bK-524287-1---a1b2c3d4e5"
        "f6;rport\r\n"
        "Max-Forwards: 70\r\n"
        "Contact: <sip:2001@192.168.1.20:5060;transport=udp>;expires=3600\r\n"
        "To: \"2001\" <sip:2001@sip.example.net>\r\n"
        "From: \"2001\" <sip:2001@sip.example.net>;tag=8a1f3c2e\r\n"
        "Call-ID: 5b7c9e1f-2a3d-4e5f-8a9b-0c1d2e3f4a5b@192.168.1.20\r\n"
        "CSeq: 42 REGISTER\r\n"
        "Expires: 3600\r\n"
        "Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, INFO,"
        " SUBSCRIBE\r\n"
        "Supported: replaces, path, timer\r\n"
        "User-Agent: Grandstream GXP1625 1.0.4.138\r\n"
        "Content-Length: -999\r\n"
        "\r\n"),
        .rc = -EBADMSG, .err = SIPMSG_E_CLEN_BAD,
    },
    {
        .name = "clen_garbage",
        CORPUS_TEXT("REGISTER sip:sip.example.net SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bK-524287-1---a1b2c3d4e5"
        "f6;rport\r\n"
        "Max-Forwards: 70\r\n"
        "Contact: <sip:2001@192.168.1.20:5060;transport=udp>;expires=3600\r\n"
        "To: \"2001\" <sip:2001@sip.example.net>\r\n"
        "From: \"2001\" <sip:2001@sip.example.net>;tag=8a1f3c2e\r\n"
        "Call-ID: 5b7c9e1f-2a3d-4e5f-8a9b-0c1d2e3f4a5b@192.168.1.20\r\n"
        "CSeq: 42 REGISTER\r\n"
        "Expires: 3600\r\n"
        "Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, INFO,"
        " SUBSCRIBE\r\n"
        "Supported: replaces, path, timer\r\n"
        "User-Agent: Grandstream GXP1625 1.0.4.138\r\n"
        "Content-Length: 12abc\r\n"
        "\r\n"),
        .rc = -EBADMSG, .err = SIPMSG_E_CLEN_BAD,
    },
    {
        .name = "clen_empty",
        CORPUS_TEXT("REGISTER sip:sip.example.net SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bK-524287-1---a1b2c3d4e5"
        "f6;rport\r\n"
        "Max-Forwards: 70\r\n"
        "Contact: <sip:2001@192.168.1.20:5060;transport=udp>;expires=3600\r\n"
        "To: \"2001\" <sip:2001@sip.example.net>\r\n"
        "From: \"2001\" <sip:2001@sip.example.net>;tag=8a1f3c2e\r\n"
        "Call-ID: 5b7c9e1f-2a3d-4e5f-8a9b-0c1d2e3f4a5b@192.168.1.20\r\n"
        "CSeq: 42 REGISTER\r\n"
        "Expires: 3600\r\n"
        "Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, INFO,"
        " SUBSCRIBE\r\n"
        "Supported: replaces, path, timer\r\n"
        "User-Agent: Grandstream GXP1625 1.0.4.138\r\n"
        "Content-Length:\r\n"
        "\r\n"),
        .rc = -EBADMSG, .err = SIPMSG_E_CLEN_BAD,
    },
    {
        .name = "clen_overflow",
        CORPUS_TEXT("REGISTER sip:sip.example.net SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bK-524287-1---a1b2c3d4e5"
        "f6;rport\r\n"
        "Max-Forwards: 70\r\n"
        "Contact: <sip:2001@192.168.1.20:5060;transport=udp>;expires=3600\r\n"
        "To: \"2001\" <sip:2001@sip.example.net>\r\n"
        "From: \"2001\" <sip:2001@sip.example.net>;tag=8a1f3c2e\r\n"
        "Call-ID: 5b7c9e1f-2a3d-4e5f-8a9b-0c1d2e3f4a5b@192.168.1.20\r\n"
        "CSeq: 42 REGISTER\r\n"
        "Expires: 3600\r\n"
        "Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, INFO,"
        " SUBSCRIBE\r\n"
        "Supported: replaces, path, timer\r\n"
        "User-Agent: Grandstream GXP1625 1.0.4.138\r\n"
        "Content-Length: 18446744073709551617999\r\n"
        "\r\n"),
        .rc = -EBADMSG, .err = SIPMSG_E_CLEN_RANGE,
    },
    {
        .name = "clen_conflict",
        CORPUS_TEXT("REGISTER sip:sip.example.net SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bK-524287-1---a1b2c3d4e5"
        "f6;rport\r\n"
        "Max-Forwards: 70\r\n"
        "Contact: <sip:2001@192.168.1.20:5060;transport=udp>;expires=3600\r\n"
        "To: \"2001\" <sip:2001@sip.example.net>\r\n"
        "From: \"2001\" <sip:2001@sip.example.net>;tag=8a1f3c2e\r\n"
        "Call-ID: 5b7c9e1f-2a3d-4e5f-8a9b-0c1d2e3f4a5b@192.168.1.20\r\n"
        "CSeq: 42 REGISTER\r\n"
        "Expires: 3600\r\n"
        "Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, INFO,"
        " SUBSCRIBE\r\n"
        "Supported: replaces, path, timer\r\n"
        "User-Agent: Grandstream GXP1625 1.0.4.138\r\n"
        "l: 5\r\n"
        "Content-Length: 0\r\n"
        "\r\n"
        "hello"),
        .rc = -EBADMSG, .err = SIPMSG_E_CLEN_CONFLICT,
    },
    {
        .name = "missing_call_id",
        CORPUS_TEXT("REGISTER sip:sip.example.net SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bK-524287-1---a1b2c3d4e5"
        "f6;rport\r\n"
        "Max-Forwards: 70\r\n"
        "Contact: <sip:2001@192.168.1.20:5060;transport=udp>;expires=3600\r\n"
        "To: \"2001\" <sip:2001@sip.example.net>\r\n"
        "From: \"2001\" <sip:2001@sip.example.net>;tag=8a1f3c2e\r\n"
        "CSeq: 42 REGISTER\r\n"
        "Expires: 3600\r\n"
        "Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, INFO,"
        " SUBSCRIBE\r\n"
        "Supported: replaces, path, timer\r\n"
        "User-Agent: Grandstream GXP1625 1.0.4.138\r\n"
        "Content-Length: 0\r\n"
        "\r\n"),
        .rc = -EBADMSG, .err = SIPMSG_E_MISSING_CALL_ID,
    },
    {
        .name = "missing_via",
        CORPUS_TEXT("REGISTER sip:sip.example.net SIP/2.0\r\n"
        "Max-Forwards: 70\r\n"
        "Contact: <sip:2001@192.168.1.20:5060;transport=udp>;expires=3600\r\n"
        "To: \"2001\" <sip:2001@sip.example.net>\r\n"
        "From: \"2001\" <sip:2001@sip.example.net>;tag=8a1f3c2e\r\n"
        "Call-ID: 5b7c9e1f-2a3d-4e5f-8a9b-0c1d2e3f4a5b@192.168.1.20\r\n"
        "CSeq: 42 REGISTER\r\n"
        "Expires: 3600\r\n"
        "Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, INFO,"
        " SUBSCRIBE\r\n"
        "Supported: replaces, path, timer\r\n"
        "User-Agent: Grandstream GXP1625 1.0.4.138\r\n"
        "Content-Length: 0\r\n"
        "\r\n"),
        .rc = -EBADMSG, .err = SIPMSG_E_MISSING_VIA,
    },
    {
        .name = "missing_from",
        CORPUS_TEXT("REGISTER sip:sip.example.net SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bK-524287-1---a1b2c3d4e5"
        "f6;rport\r\n"
        "Max-Forwards: 70\r\n"
        "Contact: <sip:2001@192.168.1.20:5060;transport=udp>;expires=3600\r\n"
        "To: \"2001\" <sip:2001@sip.example.net>\r\n"
        "Call-ID: 5b7c9e1f-2a3d-4e5f-8a9b-0c1d2e3f4a5b@192.168.1.20\r\n"
        "CSeq: 42 REGISTER\r\n"
        "Expires: 3600\r\n"
        "Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, INFO,"
        " SUBSCRIBE\r\n"
        "Supported: replaces, path, timer\r\n"
        "User-Agent: Grandstream GXP1625 1.0.4.138\r\n"
        "Content-Length: 0\r\n"
        "\r\n"),
        .rc = -EBADMSG, .err = SIPMSG_E_MISSING_FROM,
    },
    {
        .name = "missing_to",
        CORPUS_TEXT("REGISTER sip:sip.example.net SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bK-524287-1---a1b2c3d4e5"
        "f6;rport\r\n"
        "Max-Forwards: 70\r\n"
        "Contact: <sip:2001@192.168.1.20:5060;transport=udp>;expires=3600\r\n"
        "From: \"2001\" <sip:2001@sip.example.net>;tag=8a1f3c2e\r\n"
        "Call-ID: 5b7c9e1f-2a3d-4e5f-8a9b-0c1d2e3f4a5b@192.168.1.20\r\n"
        "CSeq: 42 REGISTER\r\n"
        "Expires: 3600\r\n"
        "Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, INFO,"
        " SUBSCRIBE\r\n"
        "Supported: replaces, path, timer\r\n"
        "User-Agent: Grandstream GXP1625 1.0.4.138\r\n"
        "Content-Length: 0\r\n"
        "\r\n"),
        .rc = -EBADMSG, .err = SIPMSG_E_MISSING_TO,
    },
    {
        .name = "missing_cseq",
        CORPUS_TEXT("REGISTER sip:sip.example.net SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bK-524287-1---a1b2c3d4e5"
        "f6;rport\r\n"
        "Max-Forwards: 70\r\n"
        "Contact: <sip:2001@192.168.1.20:5060;transport=udp>;expires=3600\r\n"
        "To: \"2001\" <sip:2001@sip.example.net>\r\n"
        "From: \"2001\" <sip:2001@sip.example.net>;tag=8a1f3c2e\r\n"
        "Call-ID: 5b7c9e1f-2a3d-4e5f-8a9b-0c1d2e3f4a5b@192.168.1.20\r\n"
        "Expires: 3600\r\n"
        "Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, INFO,"
        " SUBSCRIBE\r\n"
        "Supported: replaces, path, timer\r\n"
        "User-Agent: Grandstream GXP1625 1.0.4.138\r\n"
        "Content-Length: 0\r\n"
        "\r\n"),
        .rc = -EBADMSG, .err = SIPMSG_E_MISSING_CSEQ,
    },
    {
        .name = "empty_call_id",
        CORPUS_TEXT("REGISTER sip:sip.example.net SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bK-524287-1---a1b2c3d4e5"
        "f6;rport\r\n"
        "Max-Forwards: 70\r\n"
        "Contact: <sip:2001@192.168.1.20:5060;transport=udp>;expires=3600\r\n"
        "To: \"2001\" <sip:2001@sip.example.net>\r\n"
        "From: \"2001\" <sip:2001@sip.example.net>;tag=8a1f3c2e\r\n"
        "Call-ID:   \r\n"
        "CSeq: 42 REGISTER\r\n"
        "Expires: 3600\r\n"
        "Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, INFO,"
        " SUBSCRIBE\r\n"
        "Supported: replaces, path, timer\r\n"
        "User-Agent: Grandstream GXP1625 1.0.4.138\r\n"
        "Content-Length: 0\r\n"
        "\r\n"),
        .rc = -EBADMSG, .err = SIPMSG_E_MISSING_CALL_ID,
    },
    {
        .name = "resp_missing_via",
        CORPUS_TEXT("SIP/2.0 603 Decline\r\n"
        "f: <sip:a@example.com>;tag=9fxced76sl\r\n"
        "t: <sip:b@example.com>;tag=ab\r\n"
        "i: 3848276298220188511@192.0.2.1\r\n"
        "CSeq: 2 INVITE\r\n"
        "l: 0\r\n"
        "\r\n"),
        .rc = -EBADMSG, .err = SIPMSG_E_MISSING_VIA,
    },
    {
        .name = "cseq_mismatch",
        CORPUS_TEXT("REGISTER sip:sip.example.net SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bK-524287-1---a1b2c3d4e5"
        "f6;rport\r\n"
        "Max-Forwards: 70\r\n"
        "Contact: <sip:2001@192.168.1.20:5060;transport=udp>;expires=3600\r\n"
        "To: \"2001\" <sip:2001@sip.example.net>\r\n"
        "From: \"2001\" <sip:2001@sip.example.net>;tag=8a1f3c2e\r\n"
        "Call-ID: 5b7c9e1f-2a3d-4e5f-8a9b-0c1d2e3f4a5b@192.168.1.20\r\n"
        "CSeq: 42 INVITE\r\n"
        "Expires: 3600\r\n"
        "Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, INFO,"
        " SUBSCRIBE\r\n"
        "Supported: replaces, path, timer\r\n"
        "User-Agent: Grandstream GXP1625 1.0.4.138\r\n"
        "Content-Length: 0\r\n"
        "\r\n"),
        .rc = -EBADMSG, .err = SIPMSG_E_CSEQ_MISMATCH,
    },
    {
        .name = "cseq_case",
        CORPUS_TEXT("REGISTER sip:sip.example.net SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bK-524287-1---a1b2c3d4e5"
        "f6;rport\r\n"
        "Max-Forwards: 70\r\n"
        "Contact: <sip:2001@192.168.1.20:5060;transport=udp>;expires=3600\r\n"
        "To: \"2001\" <sip:2001@sip.example.net>\r\n"
        "From: \"2001\" <sip:2001@sip.example.net>;tag=8a1f3c2e\r\n"
        "Call-ID: 5b7c9e1f-2a3d-4e5f-8a9b-0c1d2e3f4a5b@192.168.1.20\r\n"
        "CSeq: 42 register\r\n"
        "Expires: 3600\r\n"
        "Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, INFO,"
        " SUBSCRIBE\r\n"
        "Supported: replaces, path, timer\r\n"
        "User-Agent: Grandstream GXP1625 1.0.4.138\r\n"
        "Content-Length: 0\r\n"
        "\r\n"),
        .rc = -EBADMSG, .err = SIPMSG_E_CSEQ_MISMATCH,
    },
    {
        .name = "cseq_unknown_method",
        CORPUS_TEXT("NEWMETHOD sip:sip.example.net SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bK-524287-1---a1b2c3d4e5"
        "f6;rport\r\n"
        "Max-Forwards: 70\r\n"
        "Contact: <sip:2001@192.168.1.20:5060;transport=udp>;expires=3600\r\n"
        "To: \"2001\" <sip:2001@sip.example.net>\r\n"
        "From: \"2001\" <sip:2001@sip.example.net>;tag=8a1f3c2e\r\n"
        "Call-ID: 5b7c9e1f-2a3d-4e5f-8a9b-0c1d2e3f4a5b@192.168.1.20\r\n"
        "CSeq: 42 REGISTER\r\n"
        "Expires: 3600\r\n"
        "Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, INFO,"
        " SUBSCRIBE\r\n"
        "Supported: replaces, path, timer\r\n"
        "User-Agent: Grandstream GXP1625 1.0.4.138\r\n"
        "Content-Length: 0\r\n"
        "\r\n"),
        .rc = -EBADMSG, .err = SIPMSG_E_CSEQ_MISMATCH,
    },
    {
        .name = "cseq_overlarge",
        CORPUS_TEXT("REGISTER sip:sip.example.net SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bK-524287-1---a1b2c3d4e5"
        "f6;rport\r\n"
        "Max-Forwards: 70\r\n"
        "Contact: <sip:2001@192.168.1.20:5060;transport=udp>;expires=3600\r\n"
        "To: \"2001\" <sip:2001@sip.example.net>\r\n"
        "From: \"2001\" <sip:2001@sip.example.net>;tag=8a1f3c2e\r\n"
        "Call-ID: 5b7c9e1f-2a3d-4e5f-8a9b-0c1d2e3f4a5b@192.168.1.20\r\n"
        "CSeq: 36893488147419103232 REGISTER\r\n"
        "Expires: 3600\r\n"
        "Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, INFO,"
        " SUBSCRIBE\r\n"
        "Supported: replaces, path, timer\r\n"
        "User-Agent: Grandstream GXP1625 1.0.4.138\r\n"
        "Content-Length: 0\r\n"
        "\r\n"),
        .rc = -EBADMSG, .err = SIPMSG_E_CSEQ_BAD,
    },
    {
        .name = "cseq_no_method",
        CORPUS_TEXT("REGISTER sip:sip.example.net SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bK-524287-1---a1b2c3d4e5"
        "f6;rport\r\n"
        "Max-Forwards: 70\r\n"
        "Contact: <sip:2001@192.168.1.20:5060;transport=udp>;expires=3600\r\n"
        "To: \"2001\" <sip:2001@sip.example.net>\r\n"
        "From: \"2001\" <sip:2001@sip.example.net>;tag=8a1f3c2e\r\n"
        "Call-ID: 5b7c9e1f-2a3d-4e5f-8a9b-0c1d2e3f4a5b@192.168.1.20\r\n"
        "CSeq: 42\r\n"
        "Expires: 3600\r\n"
        "Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, INFO,"
        " SUBSCRIBE\r\n"
        "Supported: replaces, path, timer\r\n"
        "User-Agent: Grandstream GXP1625 1.0.4.138\r\n"
        "Content-Length: 0\r\n"
        "\r\n"),
        .rc = -EBADMSG, .err = SIPMSG_E_CSEQ_BAD,
    },
    {
        .name = "cseq_no_lws",
        CORPUS_TEXT("REGISTER sip:sip.example.net SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bK-524287-1---a1b2c3d4e5"
        "f6;rport\r\n"
        "Max-Forwards: 70\r\n"
        "Contact: <sip:2001@192.168.1.20:5060;transport=udp>;expires=3600\r\n"
        "To: \"2001\" <sip:2001@sip.example.net>\r\n"
        "From: \"2001\" <sip:2001@sip.example.net>;tag=8a1f3c2e\r\n"
        "Call-ID: 5b7c9e1f-2a3d-4e5f-8a9b-0c1d2e3f4a5b@192.168.1.20\r\n"
        "CSeq: 42REGISTER\r\n"
        "Expires: 3600\r\n"
        "Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, INFO,"
        " SUBSCRIBE\r\n"
        "Supported: replaces, path, timer\r\n"
        "User-Agent: Grandstream GXP1625 1.0.4.138\r\n"
        "Content-Length: 0\r\n"
        "\r\n"),
        .rc = -EBADMSG, .err = SIPMSG_E_CSEQ_BAD,
    },
    {
        .name = "no_colon",
        CORPUS_TEXT("REGISTER sip:sip.example.net SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bK-524287-1---a1b2c3d4e5"
        "f6;rport\r\n"
        "Max-Forwards: 70\r\n"
        "Contact: <sip:2001@192.168.1.20:5060;transport=udp>;expires=3600\r\n"
        "To: \"2001\" <sip:2001@sip.example.net>\r\n"
        "From: \"2001\" <sip:2001@sip.example.net>;tag=8a1f3c2e\r\n"
        "Call-ID: 5b7c9e1f-2a3d-4e5f-8a9b-0c1d2e3f4a5b@192.168.1.20\r\n"
        "CSeq: 42 REGISTER\r\n"
        "Expires: 3600\r\n"
        "Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, INFO,"
        " SUBSCRIBE\r\n"
        "Supported: replaces, path, timer\r\n"
        "User-Agent: Grandstream GXP1625 1.0.4.138\r\n"
        "This line has no colon\r\n"
        "Content-Length: 0\r\n"
        "\r\n"),
        .rc = -EBADMSG, .err = SIPMSG_E_HDR_NO_COLON,
    },
    {
        .name = "bad_hdr_name",
        CORPUS_TEXT("REGISTER sip:sip.example.net SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bK-524287-1---a1b2c3d4e5"
        "f6;rport\r\n"
        "Max-Forwards: 70\r\n"
        "Contact: <sip:2001@192.168.1.20:5060;transport=udp>;expires=3600\r\n"
        "To: \"2001\" <sip:2001@sip.example.net>\r\n"
        "From: \"2001\" <sip:2001@sip.example.net>;tag=8a1f3c2e\r\n"
        "Call-ID: 5b7c9e1f-2a3d-4e5f-8a9b-0c1d2e3f4a5b@192.168.1.20\r\n"
        "CSeq: 42 REGISTER\r\n"
        "Expires: 3600\r\n"
        "Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, INFO,"
        " SUBSCRIBE\r\n"
        "Supported: replaces, path, timer\r\n"
        "User-Agent: Grandstream GXP1625 1.0.4.138\r\n"
        "Bad Header: x\r\n"
        "Content-Length: 0\r\n"
        "\r\n"),
        .rc = -EBADMSG, .err = SIPMSG_E_HDR_NAME,
    },
    {
        .name = "empty_hdr_name",
        CORPUS_TEXT("REGISTER sip:sip.example.net SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bK-524287-1---a1b2c3d4e5"
        "f6;rport\r\n"
        "Max-Forwards: 70\r\n"
        "Contact: <sip:2001@192.168.1.20:5060;transport=udp>;expires=3600\r\n"
        "To: \"2001\" <sip:2001@sip.example.net>\r\n"
        "From: \"2001\" <sip:2001@sip.example.net>;tag=8a1f3c2e\r\n"
        "Call-ID: 5b7c9e1f-2a3d-4e5f-8a9b-0c1d2e3f4a5b@192.168.1.20\r\n"
        "CSeq: 42 REGISTER\r\n"
        "Expires: 3600\r\n"
        "Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, INFO,"
        " SUBSCRIBE\r\n"
        "Supported: replaces, path, timer\r\n"
        "User-Agent: Grandstream GXP1625 1.0.4.138\r\n"
        ": x\r\n"
        "Content-Length: 0\r\n"
        "\r\n"),
        .rc = -EBADMSG, .err = SIPMSG_E_HDR_NAME,
    },
    {
        .name = "nul_in_header",
        CORPUS_TEXT("REGISTER sip:sip.example.net SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bK-524287-1---a1b2c3d4e5"
        "f6;rport\r\n"
        "Max-Forwards: 70\r\n"
        "Contact: <sip:2001@192.168.1.20:5060;transport=udp>;expires=3600\r\n"
        "To: \"2001\" <sip:2001@sip.example.net>\r\n"
        "From: \"2001\" <sip:2001@sip.example.net>;tag=8a1f3c2e\r\n"
        "Call-ID: 5b7c9e1f-2a3d-4e5f-8a9b-0c1d2e3f4a5b@192.168.1.20\r\n"
        "CSeq: 42 REGISTER\r\n"
        "Expires: 3600\r\n"
        "Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, INFO,"
        " SUBSCRIBE\r\n"
        "Supported: replaces, path, timer\r\n"
        "User-Agent: Grand\000stream\r\n"
        "Content-Length: 0\r\n"
        "\r\n"),
        .rc = -EBADMSG, .err = SIPMSG_E_CTL,
    },
    {
        .name = "nul_in_start",
        CORPUS_TEXT("REGISTER sip:sip.exa\000mple.net SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bK-524287-1---a1b2c3d4e5"
        "f6;rport\r\n"
        "Max-Forwards: 70\r\n"
        "Contact: <sip:2001@192.168.1.20:5060;transport=udp>;expires=3600\r\n"
        "To: \"2001\" <sip:2001@sip.example.net>\r\n"
        "From: \"2001\" <sip:2001@sip.example.net>;tag=8a1f3c2e\r\n"
        "Call-ID: 5b7c9e1f-2a3d-4e5f-8a9b-0c1d2e3f4a5b@192.168.1.20\r\n"
        "CSeq: 42 REGISTER\r\n"
        "Expires: 3600\r\n"
        "Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, INFO,"
        " SUBSCRIBE\r\n"
        "Supported: replaces, path, timer\r\n"
        "User-Agent: Grandstream GXP1625 1.0.4.138\r\n"
        "Content-Length: 0\r\n"
        "\r\n"),
        .rc = -EBADMSG, .err = SIPMSG_E_CTL,
    },
    {
        .name = "bare_lf",
        CORPUS_TEXT("REGISTER sip:sip.example.net SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bK-524287-1---a1b2c3d4e5"
        "f6;rport\r\n"
        "Max-Forwards: 70\r\n"
        "Contact: <sip:2001@192.168.1.20:5060;transport=udp>;expires=3600\r\n"
        "To: \"2001\" <sip:2001@sip.example.net>\r\n"
        "From: \"2001\" <sip:2001@sip.example.net>;tag=8a1f3c2e\r\n"
        "Call-ID: 5b7c9e1f-2a3d-4e5f-8a9b-0c1d2e3f4a5b@192.168.1.20\r\n"
        "CSeq: 42 REGISTER\r\n"
        "Expires: 3600\n"
        "Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, INFO,"
        " SUBSCRIBE\r\n"
        "Supported: replaces, path, timer\r\n"
        "User-Agent: Grandstream GXP1625 1.0.4.138\r\n"
        "Content-Length: 0\r\n"
        "\r\n"),
        .rc = -EBADMSG, .err = SIPMSG_E_BARE_LF,
    },
    {
        .name = "bare_lf_all",
        CORPUS_TEXT("REGISTER sip:sip.example.net SIP/2.0\n"
        "Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bK-524287-1---a1b2c3d4e5"
        "f6;rport\n"
        "Max-Forwards: 70\n"
        "Contact: <sip:2001@192.168.1.20:5060;transport=udp>;expires=3600\n"
        "To: \"2001\" <sip:2001@sip.example.net>\n"
        "From: \"2001\" <sip:2001@sip.example.net>;tag=8a1f3c2e\n"
        "Call-ID: 5b7c9e1f-2a3d-4e5f-8a9b-0c1d2e3f4a5b@192.168.1.20\n"
        "CSeq: 42 REGISTER\n"
        "Expires: 3600\n"
        "Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, INFO,"
        " SUBSCRIBE\n"
        "Supported: replaces, path, timer\n"
        "User-Agent: Grandstream GXP1625 1.0.4.138\n"
        "Content-Length: 0\n"
        "\n"),
        .rc = -EBADMSG, .err = SIPMSG_E_BARE_LF,
    },
    {
        .name = "bare_cr",
        CORPUS_TEXT("REGISTER sip:sip.example.net SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bK-524287-1---a1b2c3d4e5"
        "f6;rport\r\n"
        "Max-Forwards: 70\r\n"
        "Contact: <sip:2001@192.168.1.20:5060;transport=udp>;expires=3600\r\n"
        "To: \"2001\" <sip:2001@sip.example.net>\r\n"
        "From: \"2001\" <sip:2001@sip.example.net>;tag=8a1f3c2e\r\n"
        "Call-ID: 5b7c9e1f-2a3d-4e5f-8a9b-0c1d2e3f4a5b@192.168.1.20\r\n"
        "CSeq: 42 REGISTER\r\n"
        "Expires: 3600\rX: y\r\n"
        "Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, INFO,"
        " SUBSCRIBE\r\n"
        "Supported: replaces, path, timer\r\n"
        "User-Agent: Grandstream GXP1625 1.0.4.138\r\n"
        "Content-Length: 0\r\n"
        "\r\n"),
        .rc = -EBADMSG, .err = SIPMSG_E_BARE_CR,
    },
    {
        .name = "dup_to",
        CORPUS_TEXT("REGISTER sip:sip.example.net SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bK-524287-1---a1b2c3d4e5"
        "f6;rport\r\n"
        "Max-Forwards: 70\r\n"
        "Contact: <sip:2001@192.168.1.20:5060;transport=udp>;expires=3600\r\n"
        "To: \"2001\" <sip:2001@sip.example.net>\r\n"
        "From: \"2001\" <sip:2001@sip.example.net>;tag=8a1f3c2e\r\n"
        "Call-ID: 5b7c9e1f-2a3d-4e5f-8a9b-0c1d2e3f4a5b@192.168.1.20\r\n"
        "CSeq: 42 REGISTER\r\n"
        "Expires: 3600\r\n"
        "Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, INFO,"
        " SUBSCRIBE\r\n"
        "Supported: replaces, path, timer\r\n"
        "User-Agent: Grandstream GXP1625 1.0.4.138\r\n"
        "t: <sip:other@example.net>\r\n"
        "Content-Length: 0\r\n"
        "\r\n"),
        .rc = -EBADMSG, .err = SIPMSG_E_DUP_HDR,
    },
    {
        .name = "fold_first",
        CORPUS_TEXT("REGISTER sip:sip.example.net SIP/2.0\r\n"
        " folded\r\n"
        "Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bK-524287-1---a1b2c3d4e5"
        "f6;rport\r\n"
        "Max-Forwards: 70\r\n"
        "Contact: <sip:2001@192.168.1.20:5060;transport=udp>;expires=3600\r\n"
        "To: \"2001\" <sip:2001@sip.example.net>\r\n"
        "From: \"2001\" <sip:2001@sip.example.net>;tag=8a1f3c2e\r\n"
        "Call-ID: 5b7c9e1f-2a3d-4e5f-8a9b-0c1d2e3f4a5b@192.168.1.20\r\n"
        "CSeq: 42 REGISTER\r\n"
        "Expires: 3600\r\n"
        "Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, INFO,"
        " SUBSCRIBE\r\n"
        "Supported: replaces, path, timer\r\n"
        "User-Agent: Grandstream GXP1625 1.0.4.138\r\n"
        "Content-Length: 0\r\n"
        "\r\n"),
        .rc = -EBADMSG, .err = SIPMSG_E_FOLD_START,
    },
    {
        .name = "leading_crlf",
        CORPUS_TEXT("\r\n"
        "REGISTER sip:sip.example.net SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bK-524287-1---a1b2c3d4e5"
        "f6;rport\r\n"
        "Max-Forwards: 70\r\n"
        "Contact: <sip:2001@192.168.1.20:5060;transport=udp>;expires=3600\r\n"
        "To: \"2001\" <sip:2001@sip.example.net>\r\n"
        "From: \"2001\" <sip:2001@sip.example.net>;tag=8a1f3c2e\r\n"
        "Call-ID: 5b7c9e1f-2a3d-4e5f-8a9b-0c1d2e3f4a5b@192.168.1.20\r\n"
        "CSeq: 42 REGISTER\r\n"
        "Expires: 3600\r\n"
        "Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, INFO,"
        " SUBSCRIBE\r\n"
        "Supported: replaces, path, timer\r\n"
        "User-Agent: Grandstream GXP1625 1.0.4.138\r\n"
        "Content-Length: 0\r\n"
        "\r\n"),
        .rc = -EBADMSG, .err = SIPMSG_E_LEADING_CRLF,
    },
    {
        .name = "stream_incomplete",
        CORPUS_TEXT("REGISTER sip:sip.example.net SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bK-524287-1---a1b2c3d4e5"
        "f6;rport\r\n"
        "Max-Forwards: 70\r\n"
        "Contact: <sip:2001@192.168.1.20:5060;transport=udp>;expires=3600\r\n"
        "To: \"2001\" <sip:2001@sip.example.net>\r\n"
        "From: \"2001\" <sip:2001@sip.example.net>;tag=8a1f3c2e\r\n"
        "Call-ID: 5b7c9e1f-2a3d-4e5f-8a9b-0c1d2e3f4a5b@192.168.1.20\r\n"
        "CSeq: 42 REGISTER\r\n"
        "Expires: 3600\r\n"
        "Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, INFO,"
        " SUBSCRIBE\r\n"
        "Supported: replaces, path, timer\r\n"
        "User-Agent: Grandstream GXP1625 1.0.4.138\r\n"
        "Content-Length: "),
        .flags = SIPMSG_F_STREAM,
        .rc = -EAGAIN, .err = SIPMSG_E_INCOMPLETE,
    },
    {
        .name = "stream_body_incomplete",
        CORPUS_TEXT("INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bKnashds8;rport\r\n"
        "Max-Forwards: 70\r\n"
        "To: Bob <sip:bob@biloxi.example.com>\r\n"
        "From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
        "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
        "CSeq: 314159 INVITE\r\n"
        "Contact: <sip:alice@192.168.1.20:5060>\r\n"
        "Allow: INVITE, ACK, CANCEL, OPTIONS, BYE\r\n"
        "Content-Type: application/sdp\r\n"
        "Content-Length: 242\r\n"
        "\r\n"
        "v=0\r\n"
        "o=alice 2890844526 2890844526 IN IP4 192.168.1.20\r\n"
        "s=-\r\n"
        "c=IN IP4 192.168.1.20\r\n"
        "t=0 0\r\n"
        "m=audio 49170 RTP/AVP 0 8 101\r\n"
        "a=rtpmap:0 PCMU/8000\r\n"
        "a=rtpmap:8 PCMA/8000\r\n"
        "a=rtpmap:101 telephone-event/8000\r\n"
        "a=fmtp:101 0-15\r\n"
        "a=ptime:20\r\n"
        "a="),
        .flags = SIPMSG_F_STREAM,
        .rc = -EAGAIN, .err = SIPMSG_E_INCOMPLETE,
    },
    {
        .name = "http_request",
        CORPUS_TEXT("GET / HTTP/1.1\r\n"
        "Host: example.com\r\n"
        "\r\n"),
        .rc = -EBADMSG, .err = SIPMSG_E_RURI,
    },
    {
        .name = "http_response",
        CORPUS_TEXT("HTTP/1.1 200 OK\r\n"
        "Content-Length: 0\r\n"
        "\r\n"),
        .rc = -EBADMSG, .err = SIPMSG_E_METHOD,
    },
};

#define CORPUS_N (sizeof(corpus_msgs) / sizeof(corpus_msgs[0]))

#endif
