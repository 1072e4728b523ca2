// SPDX-License-Identifier: GPL-2.0
/*
 * faultline PCI memory device driver: sysfs attributes of
 * /sys/class/misc/faultline-memN, one value per file. The window, the
 * counters of the fault path, and three folders by reason: retries_by_reason
 * (why faults waited and were retried), broker_retries (the broker's retry
 * answers the device reported) and errors (its error answers).
 */

#include <linux/device.h>
#include <linux/io.h>
#include <linux/sysfs.h>

#include "faultline_mem.h"

struct flm_attribute {
	struct device_attribute attr;
	size_t offset;	/* of an atomic64_t in struct flm_dev */
};

static struct flm_dev *flm_from_dev(struct device *dev)
{
	struct miscdevice *misc = dev_get_drvdata(dev);

	return container_of(misc, struct flm_dev, misc);
}

static ssize_t flm_counter_show(struct device *dev,
				struct device_attribute *attr, char *buf)
{
	struct flm_attribute *fattr =
		container_of(attr, struct flm_attribute, attr);
	atomic64_t *counter = (void *)flm_from_dev(dev) + fattr->offset;

	return sysfs_emit(buf, "%lld\n", atomic64_read(counter));
}

#define FLM_COUNTER(name, field)                                            \
	static struct flm_attribute flm_attr_##name = {                     \
		.attr = __ATTR(name, 0444, flm_counter_show, NULL),         \
		.offset = offsetof(struct flm_dev, field),                  \
	}

static ssize_t window_bytes_show(struct device *dev,
				 struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%llu\n",
			  (unsigned long long)flm_from_dev(dev)->window_bytes);
}
static DEVICE_ATTR_RO(window_bytes);

static ssize_t pages_show(struct device *dev, struct device_attribute *attr,
			  char *buf)
{
	return sysfs_emit(buf, "%llu\n", flm_from_dev(dev)->pages);
}
static DEVICE_ATTR_RO(pages);

static ssize_t mode_show(struct device *dev, struct device_attribute *attr,
			 char *buf)
{
	return sysfs_emit(buf, "%s\n",
			  flm_from_dev(dev)->events ? "events" : "direct");
}
static DEVICE_ATTR_RO(mode);

static ssize_t mappings_show(struct device *dev,
			     struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n",
			  atomic_read(&flm_from_dev(dev)->mappings));
}
static DEVICE_ATTR_RO(mappings);

/* The device's own count of register writes it ignored. */
static ssize_t ignored_writes_show(struct device *dev,
				   struct device_attribute *attr, char *buf)
{
	struct flm_dev *fdev = flm_from_dev(dev);

	return sysfs_emit(buf, "%u\n",
			  readl(fdev->regs + FLM_REG_IGNORED_WRITES));
}
static DEVICE_ATTR_RO(ignored_writes);

FLM_COUNTER(faults, stats.faults);
FLM_COUNTER(inserts, stats.inserts);
FLM_COUNTER(waits, stats.waits);
FLM_COUNTER(retries, stats.retries);
FLM_COUNTER(wait_signals, stats.wait_signals);
FLM_COUNTER(timeouts, stats.timeouts);
FLM_COUNTER(sigbus_error, stats.sigbus_error);
FLM_COUNTER(sigbus_timeout, stats.sigbus_timeout);
FLM_COUNTER(sigbus_range, stats.sigbus_range);
FLM_COUNTER(sigbus_unbound, stats.sigbus_unbound);
FLM_COUNTER(prepares, stats.prepares);
FLM_COUNTER(revocations, stats.revocations);
FLM_COUNTER(revoked_round_trips, stats.revoked_round_trips);
FLM_COUNTER(revoked_round_trip_us, stats.revoked_round_trip_us);
FLM_COUNTER(interrupts, stats.interrupts);
FLM_COUNTER(events, stats.events);
FLM_COUNTER(bad_events, stats.bad_events);
FLM_COUNTER(resyncs, stats.resyncs);

static struct attribute *flm_attrs[] = {
	&dev_attr_window_bytes.attr,
	&dev_attr_pages.attr,
	&dev_attr_mode.attr,
	&dev_attr_mappings.attr,
	&dev_attr_ignored_writes.attr,
	&flm_attr_faults.attr.attr,
	&flm_attr_inserts.attr.attr,
	&flm_attr_waits.attr.attr,
	&flm_attr_retries.attr.attr,
	&flm_attr_wait_signals.attr.attr,
	&flm_attr_timeouts.attr.attr,
	&flm_attr_sigbus_error.attr.attr,
	&flm_attr_sigbus_timeout.attr.attr,
	&flm_attr_sigbus_range.attr.attr,
	&flm_attr_sigbus_unbound.attr.attr,
	&flm_attr_prepares.attr.attr,
	&flm_attr_revocations.attr.attr,
	&flm_attr_revoked_round_trips.attr.attr,
	&flm_attr_revoked_round_trip_us.attr.attr,
	&flm_attr_interrupts.attr.attr,
	&flm_attr_events.attr.attr,
	&flm_attr_bad_events.attr.attr,
	&flm_attr_resyncs.attr.attr,
	NULL,
};

static const struct attribute_group flm_group = {
	.attrs = flm_attrs,
};

#define FLM_BY_REASON(group, name, field, index)                            \
	static struct flm_attribute flm_##group##_##name = {                \
		.attr = __ATTR(name, 0444, flm_counter_show, NULL),         \
		.offset = offsetof(struct flm_dev, stats.field[index]),     \
	}

FLM_BY_REASON(wait, first_touch, retries_by_reason, FLM_WAIT_FIRST_TOUCH);
FLM_BY_REASON(wait, revoked, retries_by_reason, FLM_WAIT_REVOKED);
FLM_BY_REASON(wait, error, retries_by_reason, FLM_WAIT_ERROR);
FLM_BY_REASON(wait, asked, retries_by_reason, FLM_WAIT_ASKED);
FLM_BY_REASON(wait, interrupted, retries_by_reason, FLM_WAIT_INTERRUPTED);
FLM_BY_REASON(wait, busy, retries_by_reason, FLM_WAIT_BUSY);
FLM_BY_REASON(wait, not_yet_available, retries_by_reason,
	      FLM_WAIT_NOT_YET_AVAILABLE);
FLM_BY_REASON(wait, over_quota, retries_by_reason, FLM_WAIT_OVER_QUOTA);
FLM_BY_REASON(wait, broker_unreachable, retries_by_reason,
	      FLM_WAIT_BROKER_UNREACHABLE);
FLM_BY_REASON(wait, store_unavailable, retries_by_reason,
	      FLM_WAIT_STORE_UNAVAILABLE);

static struct attribute *flm_wait_attrs[] = {
	&flm_wait_first_touch.attr.attr,
	&flm_wait_revoked.attr.attr,
	&flm_wait_error.attr.attr,
	&flm_wait_asked.attr.attr,
	&flm_wait_interrupted.attr.attr,
	&flm_wait_busy.attr.attr,
	&flm_wait_not_yet_available.attr.attr,
	&flm_wait_over_quota.attr.attr,
	&flm_wait_broker_unreachable.attr.attr,
	&flm_wait_store_unavailable.attr.attr,
	NULL,
};

static const struct attribute_group flm_wait_group = {
	.name = "retries_by_reason",
	.attrs = flm_wait_attrs,
};

FLM_BY_REASON(retry, interrupted, broker_retries, FLM_RETRY_INTERRUPTED);
FLM_BY_REASON(retry, busy, broker_retries, FLM_RETRY_BUSY);
FLM_BY_REASON(retry, not_yet_available, broker_retries,
	      FLM_RETRY_NOT_YET_AVAILABLE);
FLM_BY_REASON(retry, over_quota, broker_retries, FLM_RETRY_OVER_QUOTA);
FLM_BY_REASON(retry, broker_unreachable, broker_retries,
	      FLM_RETRY_BROKER_UNREACHABLE);
FLM_BY_REASON(retry, store_unavailable, broker_retries,
	      FLM_RETRY_STORE_UNAVAILABLE);

static struct attribute *flm_retry_attrs[] = {
	&flm_retry_interrupted.attr.attr,
	&flm_retry_busy.attr.attr,
	&flm_retry_not_yet_available.attr.attr,
	&flm_retry_over_quota.attr.attr,
	&flm_retry_broker_unreachable.attr.attr,
	&flm_retry_store_unavailable.attr.attr,
	NULL,
};

static const struct attribute_group flm_retry_group = {
	.name = "broker_retries",
	.attrs = flm_retry_attrs,
};

FLM_BY_REASON(error, bus_error, errors, FLM_ERROR_BUS_ERROR);
FLM_BY_REASON(error, out_of_memory, errors, FLM_ERROR_OUT_OF_MEMORY);
FLM_BY_REASON(error, denied, errors, FLM_ERROR_DENIED);
FLM_BY_REASON(error, timed_out, errors, FLM_ERROR_TIMED_OUT);
FLM_BY_REASON(error, host_failure, errors, FLM_ERROR_HOST_FAILURE);

static struct attribute *flm_error_attrs[] = {
	&flm_error_bus_error.attr.attr,
	&flm_error_out_of_memory.attr.attr,
	&flm_error_denied.attr.attr,
	&flm_error_timed_out.attr.attr,
	&flm_error_host_failure.attr.attr,
	NULL,
};

static const struct attribute_group flm_error_group = {
	.name = "errors",
	.attrs = flm_error_attrs,
};

const struct attribute_group *flm_groups[] = {
	&flm_group,
	&flm_wait_group,
	&flm_retry_group,
	&flm_error_group,
	NULL,
};
