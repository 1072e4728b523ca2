/* SPDX-License-Identifier: GPL-2.0 */
/*
 * faultline PCI memory device driver: shared definitions.
 *
 * Each bound device is one struct flm_dev, kept alive by a kref: the probe
 * holds one reference and every open file another, so a process may keep a
 * mapping after the device is unbound (its accesses then get SIGBUS).
 *
 * Locking, outermost first:
 *   mmap_lock (held by the fault path when it enters .fault)
 *   zap_lock    read: the fault path, while it looks at a page and inserts
 *               its pfn or rings PREPARE; write: whoever takes a page's
 *               frame away (revocation, resync, unbind) and zaps it
 *   i_mmap_rwsem, page table locks (unmap_mapping_range, vmf_insert_pfn)
 *   mirror_lock (spinlock) around each change of a page's mirror entry
 *   reg_lock    (spinlock) around the STATE_SELECT/STATE register pair
 * event_lock (mutex) lets one thread at a time drain the event ring.
 */
#ifndef FAULTLINE_MEM_H
#define FAULTLINE_MEM_H

#include <linux/atomic.h>
#include <linux/kref.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/rwsem.h>
#include <linux/spinlock.h>
#include <linux/wait.h>

#include "faultline_mem_abi.h"

#define FLM_NAME "faultline-mem"

/*
 * A page's mirror entry: the device's state (bits 0-7) and reason (8-15)
 * as the event ring last said, FLM_STATE_UNKNOWN until the driver knows,
 * and FLM_EXPIRED once a waiter's bounded wait ran out (cleared by the next
 * change).
 */
#define FLM_STATE_UNKNOWN 0xff
#define FLM_EXPIRED BIT(16)
#define FLM_ENTRY(state, reason) ((u32)(state) | ((u32)(reason) << 8))
#define FLM_ENTRY_STATE(entry) ((entry) & 0xff)
#define FLM_ENTRY_REASON(entry) (((entry) >> 8) & 0xff)

#define FLM_WAIT_QUEUES 64

/* Why a fault waited, for retries by reason. */
enum flm_wait_reason {
	FLM_WAIT_FIRST_TOUCH,
	FLM_WAIT_REVOKED,
	FLM_WAIT_ERROR,
	FLM_WAIT_ASKED,
	FLM_WAIT_INTERRUPTED,
	FLM_WAIT_BUSY,
	FLM_WAIT_NOT_YET_AVAILABLE,
	FLM_WAIT_OVER_QUOTA,
	FLM_WAIT_BROKER_UNREACHABLE,
	FLM_WAIT_STORE_UNAVAILABLE,
	FLM_WAIT_REASONS,
};

/* Broker retry reasons and error kinds the device reported. */
enum flm_broker_retry {
	FLM_RETRY_INTERRUPTED,
	FLM_RETRY_BUSY,
	FLM_RETRY_NOT_YET_AVAILABLE,
	FLM_RETRY_OVER_QUOTA,
	FLM_RETRY_BROKER_UNREACHABLE,
	FLM_RETRY_STORE_UNAVAILABLE,
	FLM_RETRIES,
};

enum flm_error_kind {
	FLM_ERROR_BUS_ERROR,
	FLM_ERROR_OUT_OF_MEMORY,
	FLM_ERROR_DENIED,
	FLM_ERROR_TIMED_OUT,
	FLM_ERROR_HOST_FAILURE,
	FLM_ERRORS,
};

struct flm_stats {
	atomic64_t faults;
	atomic64_t inserts;
	atomic64_t waits;
	atomic64_t retries;
	atomic64_t wait_signals;
	atomic64_t timeouts;
	atomic64_t sigbus_error;
	atomic64_t sigbus_timeout;
	atomic64_t sigbus_range;
	atomic64_t sigbus_unbound;
	atomic64_t prepares;
	atomic64_t revocations;
	/* Waits on a revoked page that ended with its frame back, and their us */
	atomic64_t revoked_round_trips;
	atomic64_t revoked_round_trip_us;
	atomic64_t interrupts;
	atomic64_t events;
	atomic64_t bad_events;
	atomic64_t resyncs;
	atomic64_t retries_by_reason[FLM_WAIT_REASONS];
	atomic64_t broker_retries[FLM_RETRIES];
	atomic64_t errors[FLM_ERRORS];
};

struct flm_dev {
	struct kref ref;
	struct pci_dev *pdev;
	void __iomem *regs;
	phys_addr_t window_phys;
	resource_size_t window_bytes;
	u64 pages;		/* window pages the device backs */
	bool events;		/* page events and MSI: wait for frames */
	bool dead;		/* unbound: every access gets SIGBUS */
	int irq;
	int wc_cookie;
	int id;
	char name[32];
	struct miscdevice misc;
	struct inode *inode;	/* one address_space for every open file */
	atomic_t mappings;

	struct rw_semaphore zap_lock;	/* see the top of this file */
	spinlock_t mirror_lock;		/* each change of a mirror entry */
	spinlock_t reg_lock;		/* STATE_SELECT and STATE */
	struct mutex event_lock;	/* one drainer of the ring */
	u32 tail;		/* events consumed, under event_lock */
	u32 *mirror;		/* per page, events mode only */
	wait_queue_head_t waitq[FLM_WAIT_QUEUES];

	struct flm_stats stats;
};

extern unsigned int flm_wait_ms;
extern const struct vm_operations_struct flm_vm_ops;
extern const struct attribute_group *flm_groups[];

static inline wait_queue_head_t *flm_waitq(struct flm_dev *fdev, u64 page)
{
	return &fdev->waitq[page % FLM_WAIT_QUEUES];
}

/* events.c */
int flm_events_start(struct flm_dev *fdev);
void flm_events_stop(struct flm_dev *fdev);
void flm_drain_events(struct flm_dev *fdev);
u32 flm_page_entry(struct flm_dev *fdev, u64 page);
void flm_ask(struct flm_dev *fdev, u64 page);
void flm_mark_expired(struct flm_dev *fdev, u64 page, u32 seen);
bool flm_take_expired(struct flm_dev *fdev, u64 page);
void flm_revoke_all(struct flm_dev *fdev);
const char *flm_state_name(u32 state);
const char *flm_reason_name(u32 reason);

#endif /* FAULTLINE_MEM_H */
