/* SPDX-License-Identifier: GPL-2.0-or-later */
/* param_edit.c - setting and removing one header or URI parameter of an
 * address or Via element, everything else copied byte for byte; see
 * param.h. */
#include "sip/param.h"

#include <errno.h>
#include <string.h>

#include "sip/param_int.h"
#include "sip/sipchar.h"

/* What an edit does: set (value SLICE_NULL = flag) or remove name. */
struct edit {
    const char *name;
    struct slice value;
    bool set;
};

/* Everything an emitter needs; filled by the public edit functions. */
struct ectx {
    struct slice s;          /* the element being edited */
    size_t after;            /* header edits: where the parameters start */
    struct edit ed;
    struct sipparam_addr a;  /* URI edits */
    struct sipuri u;         /* URI edits */
};

/* Output that counts when p is NULL, so that an edit can be sized first. */
struct wr {
    char *p;
    size_t n;
};

typedef void (*emit_fn)(const struct ectx *c, struct wr *w);

static void put(struct wr *w, const char *p, size_t n)
{
    if (w->p && n > 0)
        memcpy(w->p + w->n, p, n);
    w->n += n;
}

static void put_param(struct wr *w, struct slice name, struct slice value)
{
    put(w, name.p, name.n);
    if (value.p) {
        put(w, "=", 1);
        put(w, value.p, value.n);
    }
}

/* Runs the emitter once to size the result and once to write it, so that
 * nothing is written when it does not fit. */
static int two_pass(const struct ectx *c, emit_fn fn, char *out, size_t outsz,
                    size_t *outlen)
{
    struct wr w = { NULL, 0 };

    fn(c, &w);
    if (w.n > outsz)
        return -ENOSPC;
    w = (struct wr){ out, 0 };
    fn(c, &w);
    *outlen = w.n;
    return 0;
}

static void hdr_emit(const struct ectx *c, struct wr *w)
{
    struct sipparam_span ps;
    size_t pos = c->after;
    bool done = false;

    put(w, c->s.p, c->after);
    while (sipparam_int_next(c->s, &pos, &ps) == 1) {
        if (!slice_eq_ci_str(ps.p.name, c->ed.name)) {
            put(w, c->s.p + ps.start, ps.end - ps.start);
        } else if (c->ed.set && !done) {
            put(w, c->s.p + ps.start, (size_t)(ps.p.name.p - c->s.p) - ps.start);
            put_param(w, ps.p.name, c->ed.value);
            done = true;
        }
    }
    if (c->ed.set && !done) {
        put(w, ";", 1);
        put_param(w, slice_cstr(c->ed.name), c->ed.value);
    }
    put(w, c->s.p + pos, c->s.n - pos);
}

static int hdr_edit(struct slice elem, enum sipparam_kind kind, const struct edit *ed,
                    char *out, size_t outsz, size_t *outlen)
{
    struct ectx c = { .s = elem, .ed = *ed };
    struct sipparam_via v;
    int err;

    if (!elem.p || !ed->name || !out || !outlen || !sipchar_all_token(slice_cstr(ed->name)))
        return -EINVAL;
    if (ed->value.p && !sipparam_int_valid_value(ed->value))
        return -EINVAL;
    if (kind == SIPPARAM_ADDR)
        err = sipparam_int_addr(elem, &c.a, &c.after);
    else if (kind == SIPPARAM_VIA)
        err = sipparam_int_via(elem, &v, &c.after);
    else
        return -EINVAL;
    if (err < 0)
        return err;
    if (c.a.star)
        return -EINVAL;
    return two_pass(&c, hdr_emit, out, outsz, outlen);
}

int sipparam_set(struct slice elem, enum sipparam_kind kind, const char *name,
                 struct slice value, char *out, size_t outsz, size_t *outlen)
{
    struct edit ed = { name, value, true };

    return hdr_edit(elem, kind, &ed, out, outsz, outlen);
}

int sipparam_remove(struct slice elem, enum sipparam_kind kind, const char *name,
                    char *out, size_t outsz, size_t *outlen)
{
    struct edit ed = { name, SLICE_NULL, false };

    return hdr_edit(elem, kind, &ed, out, outsz, outlen);
}

/* The URI's parameters, edited; the URI parameter list has no LWS. */
static void uri_params_emit(const struct ectx *c, struct wr *w)
{
    struct slice it = c->u.params, pn, pv;
    bool done = false;

    while (sipuri_param_next(&it, &pn, &pv)) {
        if (!slice_eq_ci_str(pn, c->ed.name)) {
            put(w, pn.p - 1, (size_t)(it.p - pn.p) + 1);
        } else if (c->ed.set && !done) {
            put(w, ";", 1);
            put_param(w, pn, c->ed.value);
            done = true;
        }
    }
    if (c->ed.set && !done) {
        put(w, ";", 1);
        put_param(w, slice_cstr(c->ed.name), c->ed.value);
    }
}

static void uri_emit(const struct ectx *c, struct wr *w)
{
    const char *ub = c->a.uri.p, *ue = ub + c->a.uri.n, *pb, *pe;
    bool wrap = !c->a.bracketed && c->ed.set;

    if (c->u.params.p)
        pb = c->u.params.p;
    else
        pb = c->u.headers.p ? c->u.headers.p - 1 : ue;
    pe = c->u.params.p ? pb + c->u.params.n : pb;
    put(w, c->s.p, (size_t)(ub - c->s.p));
    if (wrap)
        put(w, "<", 1);
    put(w, ub, (size_t)(pb - ub));
    uri_params_emit(c, w);
    put(w, pe, (size_t)(ue - pe));
    if (wrap)
        put(w, ">", 1);
    put(w, ue, (size_t)(c->s.p + c->s.n - ue));
}

static int uri_edit(struct slice elem, const struct edit *ed, char *out,
                    size_t outsz, size_t *outlen)
{
    struct ectx c = { .s = elem, .ed = *ed };
    int err;

    if (!elem.p || !ed->name || !out || !outlen ||
        !sipuri_param_valid(slice_cstr(ed->name), ed->value))
        return -EINVAL;
    err = sipparam_int_addr(elem, &c.a, &c.after);
    if (err < 0)
        return err;
    if (c.a.star)
        return -EINVAL;
    err = sipuri_parse(&c.u, c.a.uri);
    if (err < 0)
        return err;
    return two_pass(&c, uri_emit, out, outsz, outlen);
}

int sipparam_set_uri(struct slice elem, const char *name, struct slice value,
                     char *out, size_t outsz, size_t *outlen)
{
    struct edit ed = { name, value, true };

    return uri_edit(elem, &ed, out, outsz, outlen);
}

int sipparam_remove_uri(struct slice elem, const char *name, char *out,
                        size_t outsz, size_t *outlen)
{
    struct edit ed = { name, SLICE_NULL, false };

    return uri_edit(elem, &ed, out, outsz, outlen);
}
