/* OPTIONS probing of customer targets: the up/down state machine, free of sockets and timers. */
#include <errno.h>

#include "routing/routing.h"

void routing_probe_conf_default(struct routing_probe_conf *conf)
{
	*conf = (struct routing_probe_conf){
	    .interval_ms = 30000,
	    .fail_threshold = 3,
	    .recover_threshold = 2,
	};
}

int routing_probe_init(struct routing_probe *p, const struct routing_probe_conf *conf,
                       uint64_t now_ms)
{
	if (!conf->interval_ms || !conf->fail_threshold || !conf->recover_threshold)
		return -EINVAL;
	*p = (struct routing_probe){.conf = *conf, .next_ms = now_ms, .changed_ms = now_ms};
	return 0;
}

bool routing_probe_due(const struct routing_probe *p, uint64_t now_ms)
{
	return now_ms >= p->next_ms;
}

/*
 * Hysteresis: one lost OPTIONS does not take a target out of rotation and
 * one answer does not bring a flapping one back; each run of outcomes
 * counts only while it is unbroken.
 */
enum routing_probe_change routing_probe_result(struct routing_probe *p, bool ok, uint64_t now_ms)
{
	enum routing_probe_change ch = ROUTING_PROBE_SAME;

	p->probes++;
	p->next_ms = now_ms + p->conf.interval_ms;
	if (ok) {
		p->fails = 0;
		if (p->oks < UINT32_MAX)
			p->oks++;
		if (p->down && p->oks >= p->conf.recover_threshold) {
			p->down = false;
			p->ups++;
			ch = ROUTING_PROBE_WENT_UP;
		}
	} else {
		p->failures++;
		p->oks = 0;
		if (p->fails < UINT32_MAX)
			p->fails++;
		if (!p->down && p->fails >= p->conf.fail_threshold) {
			p->down = true;
			p->downs++;
			ch = ROUTING_PROBE_WENT_DOWN;
		}
	}
	if (ch != ROUTING_PROBE_SAME)
		p->changed_ms = now_ms;
	return ch;
}

bool routing_probe_is_down(const struct routing_probe *p)
{
	return p->down;
}

bool routing_probe_status_ok(uint16_t status)
{
	return status >= 200 && status <= 699 && status != 408 && status != 503;
}
