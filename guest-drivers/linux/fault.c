// SPDX-License-Identifier: GPL-2.0
/*
 * faultline PCI memory device driver: the fault handler.
 *
 * nopfn, as today's kernels spell it: a touched page of a mapping gets the
 * pfn of its BAR page, inserted one at a time (vmf_insert_pfn_prot), never
 * remapped up front. A page whose frame is not there (never asked for,
 * revoked by the broker, or being prepared because the broker answered
 * retry) makes the fault ring PREPARE and wait for the device's event,
 * like filemap_fault waits for a page read: on a first attempt with the
 * mmap lock dropped, then VM_FAULT_RETRY (the NOPAGE_RETRY of 2006), so a
 * signal ends the wait, its handler runs and the access is made again.
 * Every wait is bounded by wait_ms and ends in SIGBUS, as does an error
 * answer from the broker; the kernel log says why.
 */

#include <linux/file.h>
#include <linux/jiffies.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/sched.h>

#include "faultline_mem.h"

enum flm_wait_outcome {
	FLM_READY,
	FLM_FAILED,
	FLM_DEAD,
	FLM_SIGNAL,
	FLM_TIMEOUT,
};

static unsigned long flm_wait_jiffies(void)
{
	return msecs_to_jiffies(clamp(READ_ONCE(flm_wait_ms), 1u, 100000u));
}

static enum flm_wait_reason flm_why(u32 entry)
{
	switch (FLM_ENTRY_STATE(entry)) {
	case FLM_PAGE_ABSENT:
		return FLM_WAIT_FIRST_TOUCH;
	case FLM_PAGE_REVOKING:
	case FLM_PAGE_REVOKED:
		return FLM_WAIT_REVOKED;
	case FLM_PAGE_ERROR:
		return FLM_WAIT_ERROR;
	}
	switch (FLM_ENTRY_REASON(entry)) {
	case FLM_REASON_INTERRUPTED:
		return FLM_WAIT_INTERRUPTED;
	case FLM_REASON_BUSY:
		return FLM_WAIT_BUSY;
	case FLM_REASON_NOT_YET_AVAILABLE:
		return FLM_WAIT_NOT_YET_AVAILABLE;
	case FLM_REASON_OVER_QUOTA:
		return FLM_WAIT_OVER_QUOTA;
	case FLM_REASON_BROKER_UNREACHABLE:
		return FLM_WAIT_BROKER_UNREACHABLE;
	case FLM_REASON_STORE_UNAVAILABLE:
		return FLM_WAIT_STORE_UNAVAILABLE;
	default:
		return FLM_WAIT_ASKED;
	}
}

static vm_fault_t flm_sigbus(struct flm_dev *fdev, atomic64_t *counter,
			     u64 page, const char *what, u32 entry)
{
	atomic64_inc(counter);
	pr_warn_ratelimited("%s: page %llu %s (%s, %s): SIGBUS for %s[%d]\n",
			    fdev->name, page, what,
			    flm_state_name(FLM_ENTRY_STATE(entry)),
			    flm_reason_name(FLM_ENTRY_REASON(entry)),
			    current->comm, task_pid_nr(current));
	return VM_FAULT_SIGBUS;
}

/*
 * Inserts the page's pfn if its frame is there. Under zap_lock, so a
 * revocation either sees the new PTE and zaps it, or has already changed
 * the page's state and nothing is inserted.
 */
static vm_fault_t flm_insert(struct flm_dev *fdev, struct vm_fault *vmf,
			     u64 page, bool *inserted)
{
	vm_fault_t ret = 0;

	*inserted = false;
	down_read(&fdev->zap_lock);
	if (fdev->dead) {
		ret = flm_sigbus(fdev, &fdev->stats.sigbus_unbound, page,
				 "of an unbound device", 0);
	} else if (!fdev->events ||
		   FLM_ENTRY_STATE(READ_ONCE(fdev->mirror[page])) ==
			   FLM_PAGE_AVAILABLE) {
		ret = vmf_insert_pfn_prot(vmf->vma, vmf->address,
					  PHYS_PFN(fdev->window_phys) + page,
					  vmf->vma->vm_page_prot);
		*inserted = true;
		atomic64_inc(&fdev->stats.inserts);
	}
	up_read(&fdev->zap_lock);
	return ret;
}

static bool flm_page_moved(struct flm_dev *fdev, u64 page, u32 seen)
{
	return READ_ONCE(fdev->dead) ||
	       (READ_ONCE(fdev->mirror[page]) & ~FLM_EXPIRED) !=
		       (seen & ~FLM_EXPIRED);
}

/* Sleeps until the page's entry moves on from @seen: remaining jiffies. */
static long flm_sleep(struct flm_dev *fdev, u64 page, u32 seen,
		      bool interruptible, unsigned long left)
{
	wait_queue_head_t *waitq = flm_waitq(fdev, page);

	if (interruptible)
		return wait_event_interruptible_timeout(*waitq,
							flm_page_moved(fdev, page, seen),
							left);
	return wait_event_killable_timeout(*waitq,
					   flm_page_moved(fdev, page, seen),
					   left);
}

/*
 * Waits until the page has a frame or an error, asking the device again
 * whenever nobody is asking; *left holds the jiffies still allowed.
 */
static enum flm_wait_outcome flm_wait_page(struct flm_dev *fdev, u64 page,
					   bool interruptible,
					   unsigned long *left, u32 *seen)
{
	long ret;
	u32 entry;

	for (;;) {
		down_read(&fdev->zap_lock);
		if (fdev->dead) {
			up_read(&fdev->zap_lock);
			return FLM_DEAD;
		}
		entry = flm_page_entry(fdev, page);
		if (FLM_ENTRY_STATE(entry) == FLM_PAGE_ABSENT ||
		    FLM_ENTRY_STATE(entry) == FLM_PAGE_REVOKED) {
			flm_ask(fdev, page);
			entry = READ_ONCE(fdev->mirror[page]);
		}
		up_read(&fdev->zap_lock);
		*seen = entry;
		if (FLM_ENTRY_STATE(entry) == FLM_PAGE_AVAILABLE)
			return FLM_READY;
		if (FLM_ENTRY_STATE(entry) == FLM_PAGE_ERROR)
			return FLM_FAILED;

		ret = flm_sleep(fdev, page, entry, interruptible, *left);
		if (ret < 0)
			return FLM_SIGNAL;
		if (ret == 0)
			return FLM_TIMEOUT;
		*left = ret;
	}
}

/*
 * A first attempt: wait with the mmap lock dropped, holding the file (and
 * so the device) instead of the VMA, then have the fault retried.
 */
static vm_fault_t flm_wait_unlocked(struct flm_dev *fdev,
				    struct vm_fault *vmf, u64 page, u32 entry)
{
	enum flm_wait_reason why = flm_why(entry);
	unsigned long left = flm_wait_jiffies();
	ktime_t start = ktime_get();
	enum flm_wait_outcome outcome;
	struct file *fpin;
	u32 seen;

	down_read(&fdev->zap_lock);
	if (!fdev->dead)
		flm_ask(fdev, page);	/* an error page is asked again */
	up_read(&fdev->zap_lock);
	atomic64_inc(&fdev->stats.waits);
	atomic64_inc(&fdev->stats.retries);
	atomic64_inc(&fdev->stats.retries_by_reason[why]);
	if (vmf->flags & FAULT_FLAG_RETRY_NOWAIT)
		return VM_FAULT_RETRY;

	fpin = get_file(vmf->vma->vm_file);
	release_fault_lock(vmf);
	outcome = flm_wait_page(fdev, page,
				vmf->flags & FAULT_FLAG_INTERRUPTIBLE, &left,
				&seen);
	if (outcome == FLM_SIGNAL)
		atomic64_inc(&fdev->stats.wait_signals);
	if (outcome == FLM_TIMEOUT) {
		atomic64_inc(&fdev->stats.timeouts);
		flm_mark_expired(fdev, page, seen);
	}
	/* A revocation's cost to the process: from its fault to the new frame */
	if (outcome == FLM_READY && why == FLM_WAIT_REVOKED) {
		atomic64_inc(&fdev->stats.revoked_round_trips);
		atomic64_add(ktime_us_delta(ktime_get(), start),
			     &fdev->stats.revoked_round_trip_us);
	}
	fput(fpin);
	return VM_FAULT_RETRY;
}

/* A retried fault, or one that may not retry: wait here, then finish. */
static vm_fault_t flm_wait_locked(struct flm_dev *fdev, struct vm_fault *vmf,
				  u64 page)
{
	unsigned long left = flm_wait_jiffies();
	vm_fault_t ret;
	bool inserted;
	u32 seen;

	atomic64_inc(&fdev->stats.waits);
	switch (flm_wait_page(fdev, page,
			      vmf->flags & FAULT_FLAG_INTERRUPTIBLE, &left,
			      &seen)) {
	case FLM_READY:
		ret = flm_insert(fdev, vmf, page, &inserted);
		/* Lost again meanwhile: the access faults anew. */
		return inserted ? ret : VM_FAULT_NOPAGE;
	case FLM_FAILED:
		return flm_sigbus(fdev, &fdev->stats.sigbus_error, page,
				  "has no frame: the broker answered error",
				  seen);
	case FLM_DEAD:
		return flm_sigbus(fdev, &fdev->stats.sigbus_unbound, page,
				  "of an unbound device", 0);
	case FLM_SIGNAL:
		/* As TTM does: the access is made again after the handler. */
		atomic64_inc(&fdev->stats.wait_signals);
		return VM_FAULT_NOPAGE;
	case FLM_TIMEOUT:
	default:
		atomic64_inc(&fdev->stats.timeouts);
		return flm_sigbus(fdev, &fdev->stats.sigbus_timeout, page,
				  "still has no frame after wait_ms", seen);
	}
}

static vm_fault_t flm_fault(struct vm_fault *vmf)
{
	struct flm_dev *fdev = vmf->vma->vm_private_data;
	u64 page = vmf->pgoff;
	vm_fault_t ret;
	bool inserted;
	u32 entry;

	atomic64_inc(&fdev->stats.faults);
	if (page >= fdev->pages)
		return flm_sigbus(fdev, &fdev->stats.sigbus_range, page,
				  "is past the device window", 0);
	ret = flm_insert(fdev, vmf, page, &inserted);
	if (inserted || ret)
		return ret;

	down_read(&fdev->zap_lock);
	entry = fdev->dead ? 0 : flm_page_entry(fdev, page);
	up_read(&fdev->zap_lock);
	if (FLM_ENTRY_STATE(entry) == FLM_PAGE_AVAILABLE) {
		/* Just learnt from the device (after a resync). */
		ret = flm_insert(fdev, vmf, page, &inserted);
		if (inserted || ret)
			return ret;
	}
	if (fault_flag_allow_retry_first(vmf->flags))
		return flm_wait_unlocked(fdev, vmf, page, entry);

	if (FLM_ENTRY_STATE(entry) == FLM_PAGE_ERROR)
		return flm_sigbus(fdev, &fdev->stats.sigbus_error, page,
				  "has no frame: the broker answered error",
				  entry);
	if (flm_take_expired(fdev, page))
		return flm_sigbus(fdev, &fdev->stats.sigbus_timeout, page,
				  "still has no frame after wait_ms", entry);
	return flm_wait_locked(fdev, vmf, page);
}

static void flm_vm_open(struct vm_area_struct *vma)
{
	struct flm_dev *fdev = vma->vm_private_data;

	atomic_inc(&fdev->mappings);
}

static void flm_vm_close(struct vm_area_struct *vma)
{
	struct flm_dev *fdev = vma->vm_private_data;

	atomic_dec(&fdev->mappings);
}

const struct vm_operations_struct flm_vm_ops = {
	.fault = flm_fault,
	.open = flm_vm_open,
	.close = flm_vm_close,
};
