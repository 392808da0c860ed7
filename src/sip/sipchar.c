/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sipchar.c - see sipchar.h. */
#include "sip/sipchar.h"

#define A (SIPCHAR_ALPHA | SIPCHAR_TOKEN | SIPCHAR_UNRESERVED)
#define X (A | SIPCHAR_HEX)
#define D (SIPCHAR_DIGIT | SIPCHAR_HEX | SIPCHAR_TOKEN | SIPCHAR_UNRESERVED)
#define T SIPCHAR_TOKEN
#define U SIPCHAR_UNRESERVED
#define C SIPCHAR_CTL
#define S (SIPCHAR_WSP | SIPCHAR_LWS)
#define L SIPCHAR_LWS

/* Bytes 0x80-0xff are 0 (left out). */
const unsigned char sipchar_tab[256] = {
    C, C, C, C, C, C, C, C, C, C | S, C | L, C, C, C | L, C, C, /* 0x00  HT LF CR */
    C, C, C, C, C, C, C, C, C, C, C, C, C, C, C, C,             /* 0x10 */
    S, T | U, 0, 0, 0, T, 0, T | U, U, U, T | U, T, 0, T | U, T | U, 0, /* 0x20  !"#$%&'()*+,-./ */
    D, D, D, D, D, D, D, D, D, D, 0, 0, 0, 0, 0, 0,             /* 0x30  0-9 :;<=>? */
    0, X, X, X, X, X, X, A, A, A, A, A, A, A, A, A,             /* 0x40  @ A-O */
    A, A, A, A, A, A, A, A, A, A, A, 0, 0, 0, 0, T | U,         /* 0x50  P-Z [\]^_ */
    T, X, X, X, X, X, X, A, A, A, A, A, A, A, A, A,             /* 0x60  ` a-o */
    A, A, A, A, A, A, A, A, A, A, A, 0, 0, 0, T | U, C,         /* 0x70  p-z {|}~ DEL */
};

int sipchar_hex_val(unsigned char c)
{
    if (sipchar_is_digit(c))
        return c - '0';
    if (sipchar_is_hex(c))
        return (c | 0x20) - 'a' + 10;
    return -1;
}

bool sipchar_all_token(struct slice s)
{
    if (s.n == 0)
        return false;
    for (size_t i = 0; i < s.n; i++) {
        if (!sipchar_is_token((unsigned char)s.p[i]))
            return false;
    }
    return true;
}

size_t sipchar_scheme_len(struct slice s)
{
    size_t i = 1;

    if (s.n == 0 || !sipchar_is_alpha((unsigned char)s.p[0]))
        return 0;
    while (i < s.n && (sipchar_is_alnum((unsigned char)s.p[i]) || s.p[i] == '+' ||
                       s.p[i] == '-' || s.p[i] == '.'))
        i++;
    return i < s.n && s.p[i] == ':' ? i : 0;
}
