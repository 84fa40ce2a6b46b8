/*
 * Copyright (C) hermod authors
 *
 * The event timers: hm_event_add_timer(), hm_event_del_timer(),
 * hm_event_find_timer(), hm_event_expire_timers() and
 * hm_event_no_timers_left(), driven by setting hm_current_msec by hand.
 */

#include <hm_config.h>
#include <hm_core.h>
#include <hm_unit.h>


#define NEV  16

static hm_event_t   ev[NEV];
static hm_uint_t    fired[64];
static hm_uint_t    nfired;
static hm_uint_t    bad_state;

/* what some handlers do besides recording */
static hm_event_t  *victim;          /* a timer the handler deletes */
static hm_msec_t    rearm;           /* re-add the own timer once */


static hm_uint_t
idx(hm_event_t *e)
{
    return (hm_uint_t) (uintptr_t) e->data;
}


static void
record(hm_event_t *e)
{
    if (!e->timedout || e->timer_set) {
        bad_state++;
    }

    if (nfired < sizeof(fired) / sizeof(fired[0])) {
        fired[nfired] = idx(e);
    }

    nfired++;
}


static void
handler_delete_victim(hm_event_t *e)
{
    record(e);

    if (victim && victim->timer_set) {
        hm_event_del_timer(victim);
    }
}


static void
handler_rearm(hm_event_t *e)
{
    record(e);

    if (rearm) {
        e->timedout = 0;
        hm_event_add_timer(e, rearm);
        rearm = 0;
    }
}


static void
reset(void)
{
    hm_uint_t  i;

    hm_event_timer_init(NULL);

    hm_memzero(ev, sizeof(ev));

    for (i = 0; i < NEV; i++) {
        ev[i].data = (void *) (uintptr_t) i;
        ev[i].handler = record;
    }

    nfired = 0;
    bad_state = 0;
    victim = NULL;
    rearm = 0;
}


/* the handlers ran exactly for these indices, in this order */

static int
fired_is(hm_uint_t n, ...)
{
    va_list    args;
    hm_uint_t  i, ok;

    ok = (nfired == n);

    va_start(args, n);

    for (i = 0; i < n; i++) {
        if (i >= nfired || fired[i] != va_arg(args, hm_uint_t)) {
            ok = 0;
        }
    }

    va_end(args);

    if (!ok) {
        fprintf(stderr, "    fired:");
        for (i = 0; i < nfired && i < 64; i++) {
            fprintf(stderr, " %lu", (unsigned long) fired[i]);
        }
        fprintf(stderr, "\n");
    }

    nfired = 0;

    return ok;
}


#define F(i)  ((hm_uint_t) (i))


static void
test_order(hm_msec_t start)
{
    reset();

    hm_current_msec = start;

    HM_CHECK_UINT(hm_event_find_timer(), HM_TIMER_INFINITE);
    HM_CHECK_INT(hm_event_no_timers_left(), HM_OK);

    hm_event_add_timer(&ev[0], 500);
    hm_event_add_timer(&ev[1], 100);
    hm_event_add_timer(&ev[2], 300);
    hm_event_add_timer(&ev[3], 100);     /* the same key as ev[1], later */
    hm_event_add_timer(&ev[4], 1000);
    hm_event_add_timer(&ev[5], 0);

    HM_CHECK(ev[0].timer_set && ev[4].timer_set);
    HM_CHECK_UINT(ev[1].timer.key, start + 100);
    HM_CHECK_UINT(hm_event_find_timer(), 0);

    /* a zero timer fires at once */
    hm_event_expire_timers();
    HM_CHECK(fired_is(1, F(5)), "start %llu", (unsigned long long) start);
    HM_CHECK_UINT(hm_event_find_timer(), 100);

    hm_current_msec = start + 99;
    hm_event_expire_timers();
    HM_CHECK(fired_is(0), "nothing expires before its time");
    HM_CHECK_UINT(hm_event_find_timer(), 1);

    /* expired at exactly the key; equal keys in insertion order */
    hm_current_msec = start + 100;
    hm_event_expire_timers();
    HM_CHECK(fired_is(2, F(1), F(3)), "start %llu",
             (unsigned long long) start);
    HM_CHECK(ev[1].timedout && !ev[1].timer_set);
    HM_CHECK(ev[3].timedout && !ev[3].timer_set);
    HM_CHECK(!ev[0].timedout && ev[0].timer_set, "a later timer untouched");
    HM_CHECK_UINT(hm_event_find_timer(), 200);

    /* a deleted timer never fires */
    hm_event_del_timer(&ev[2]);
    HM_CHECK(!ev[2].timer_set);
    HM_CHECK(ev[2].timer.left == NULL && ev[2].timer.parent == NULL);
    hm_current_msec = start + 300;
    hm_event_expire_timers();
    HM_CHECK(fired_is(0), "the deleted timer fired");
    HM_CHECK_UINT(hm_event_find_timer(), 200);

    /* a late expiry fires everything due, in key order */
    hm_current_msec = start + 5000;
    HM_CHECK_UINT(hm_event_find_timer(), 0);
    hm_event_expire_timers();
    HM_CHECK(fired_is(2, F(0), F(4)), "start %llu",
             (unsigned long long) start);
    HM_CHECK_UINT(hm_event_find_timer(), HM_TIMER_INFINITE);
    HM_CHECK(hm_event_timer_rbtree.root == hm_event_timer_rbtree.sentinel);
    HM_CHECK(bad_state == 0, "a handler saw timedout == 0 or timer_set");
}


static void
test_many(void)
{
    hm_uint_t  i, ok;
    hm_msec_t  delays[NEV] = { 70, 10, 50, 10, 90, 30, 10, 80,
                               20, 60, 40, 30, 10, 100, 0, 55 };
    hm_uint_t  want[NEV]   = { 14, 1, 3, 6, 12, 8, 5, 11,
                               10, 2, 15, 9, 0, 7, 4, 13 };

    reset();
    hm_current_msec = 42;

    for (i = 0; i < NEV; i++) {
        hm_event_add_timer(&ev[i], delays[i]);
    }

    /* step one millisecond at a time: each fires at its own time */

    ok = 1;

    for (hm_current_msec = 42; hm_current_msec <= 42 + 100;
         hm_current_msec++)
    {
        hm_uint_t  before = nfired;

        hm_event_expire_timers();

        for (i = before; i < nfired; i++) {
            if (delays[fired[i]] + 42 != hm_current_msec) {
                ok = 0;
            }
        }
    }

    HM_CHECK(ok, "a timer fired at the wrong time");
    HM_CHECK_UINT(nfired, NEV);

    ok = 1;
    for (i = 0; i < NEV; i++) {
        if (fired[i] != want[i]) {
            ok = 0;
        }
    }

    HM_CHECK(ok, "16 timers in key, then insertion, order");
}


static void
test_lazy(void)
{
    hm_msec_t  t;

    reset();

    t = 10000;
    hm_current_msec = t;

    hm_event_add_timer(&ev[0], 1000);
    HM_CHECK_UINT(ev[0].timer.key, t + 1000);

    /* within HM_TIMER_LAZY_DELAY: the old key stays */
    hm_current_msec = t + 100;
    hm_event_add_timer(&ev[0], 1000);
    HM_CHECK_UINT(ev[0].timer.key, t + 1000);

    hm_current_msec = t;
    hm_event_add_timer(&ev[0], 1299);
    HM_CHECK_UINT(ev[0].timer.key, t + 1000);
    hm_event_add_timer(&ev[0], 701);
    HM_CHECK_UINT(ev[0].timer.key, t + 1000);

    /* exactly HM_TIMER_LAZY_DELAY later or earlier: the timer moves */
    hm_event_add_timer(&ev[0], 1300);
    HM_CHECK_UINT(ev[0].timer.key, t + 1300);
    hm_event_add_timer(&ev[0], 1000);
    HM_CHECK_UINT(ev[0].timer.key, t + 1000);
    HM_CHECK(ev[0].timer_set);

    /* a moved timer is in the tree once: it fires once, at the new key */
    hm_event_add_timer(&ev[0], 5000);
    HM_CHECK_UINT(ev[0].timer.key, t + 5000);
    hm_current_msec = t + 4999;
    hm_event_expire_timers();
    HM_CHECK(fired_is(0), "fired at the old key");
    hm_current_msec = t + 5000;
    hm_event_expire_timers();
    HM_CHECK(fired_is(1, F(0)), "fired once at the new key");
    HM_CHECK_UINT(hm_event_find_timer(), HM_TIMER_INFINITE);

    /* the lazy rule does not apply once the timer has fired */
    hm_event_add_timer(&ev[0], 100);
    HM_CHECK_UINT(ev[0].timer.key, t + 5100);
    hm_event_del_timer(&ev[0]);
}


static void
test_wraparound(void)
{
    hm_msec_t  start;

    /* around the wrap of the unsigned key */

    reset();

    start = (hm_msec_t) -150;
    hm_current_msec = start;

    hm_event_add_timer(&ev[0], 300);      /* wraps: key 150 */
    hm_event_add_timer(&ev[1], 100);      /* key -50 */
    hm_event_add_timer(&ev[2], 200);      /* key 50, wrapped */

    HM_CHECK_UINT(ev[0].timer.key, 150);
    HM_CHECK_UINT(hm_event_find_timer(), 100);

    hm_event_expire_timers();
    HM_CHECK(fired_is(0), "a wrapped key looked expired");

    hm_current_msec = start + 100;
    hm_event_expire_timers();
    HM_CHECK(fired_is(1, F(1)));
    HM_CHECK_UINT(hm_event_find_timer(), 100);

    hm_current_msec = start + 200;        /* 50: the clock wrapped too */
    HM_CHECK_UINT(hm_current_msec, 50);
    hm_event_expire_timers();
    HM_CHECK(fired_is(1, F(2)));
    HM_CHECK_UINT(hm_event_find_timer(), 100);

    hm_current_msec = start + 300;
    hm_event_expire_timers();
    HM_CHECK(fired_is(1, F(0)));

    /* around the sign change of the signed difference */

    test_order((hm_msec_t) INT64_MAX - 250);
    test_order((hm_msec_t) -400);
    test_order((hm_msec_t) 1 << 62);
}


static void
test_handlers(void)
{
    /* a handler deletes a timer due at the same time: it must not fire */

    reset();
    hm_current_msec = 1000;

    ev[0].handler = handler_delete_victim;
    victim = &ev[1];

    hm_event_add_timer(&ev[0], 10);
    hm_event_add_timer(&ev[1], 10);
    hm_event_add_timer(&ev[2], 10);

    hm_current_msec = 1010;
    hm_event_expire_timers();
    HM_CHECK(fired_is(2, F(0), F(2)), "the deleted timer fired");
    HM_CHECK(!ev[1].timer_set && !ev[1].timedout);

    /* a handler re-adds its own timer: it stays, and is not fired now */

    reset();
    hm_current_msec = 2000;

    ev[3].handler = handler_rearm;
    rearm = 25;

    hm_event_add_timer(&ev[3], 5);
    hm_current_msec = 2005;
    hm_event_expire_timers();
    HM_CHECK(fired_is(1, F(3)));
    HM_CHECK(ev[3].timer_set, "the re-added timer is set");
    HM_CHECK_UINT(ev[3].timer.key, 2030);
    HM_CHECK_UINT(hm_event_find_timer(), 25);

    hm_current_msec = 2030;
    hm_event_expire_timers();
    HM_CHECK(fired_is(1, F(3)));
    HM_CHECK_UINT(hm_event_find_timer(), HM_TIMER_INFINITE);
}


static void
test_cancelable(void)
{
    reset();
    hm_current_msec = 500;

    ev[0].cancelable = 1;
    ev[1].cancelable = 1;

    hm_event_add_timer(&ev[0], 100);
    hm_event_add_timer(&ev[1], 300);
    HM_CHECK_INT(hm_event_no_timers_left(), HM_OK);

    hm_event_add_timer(&ev[2], 200);
    HM_CHECK_INT(hm_event_no_timers_left(), HM_AGAIN);

    hm_event_add_timer(&ev[3], 900);
    ev[3].cancelable = 1;
    HM_CHECK_INT(hm_event_no_timers_left(), HM_AGAIN);

    hm_event_del_timer(&ev[2]);
    HM_CHECK_INT(hm_event_no_timers_left(), HM_OK);

    hm_current_msec = 2000;
    hm_event_expire_timers();
    HM_CHECK(fired_is(3, F(0), F(1), F(3)));
    HM_CHECK_INT(hm_event_no_timers_left(), HM_OK);
}


int
main(void)
{
    hm_unit_init("test_timer");

    HM_CHECK(hm_current_msec != 0, "hm_time_init() set hm_current_msec");

    test_order(hm_current_msec);
    test_order(1000);
    test_many();
    test_lazy();
    test_wraparound();
    test_handlers();
    test_cancelable();

    return hm_unit_done();
}
