// SPDX-License-Identifier: GPL-2.0
/*
 * faultline PCI memory device driver: the device's page events.
 *
 * The device says, page by page, whether a frame is mapped in its window
 * (proto/guest_abi.h). An MSI wakes a threaded handler that drains the
 * event ring into the driver's mirror of page states, wakes the faults
 * waiting for those pages, and takes frames away from every process before
 * the VMM unmaps them: on REVOKING it zaps the page's user mappings, then
 * acknowledges, so no process ever touches a frame the broker took back.
 */

#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/slab.h>

#include "faultline_mem.h"

static const char *const flm_state_names[] = {
	[FLM_PAGE_ABSENT] = "absent",
	[FLM_PAGE_AVAILABLE] = "available",
	[FLM_PAGE_PENDING] = "pending",
	[FLM_PAGE_REVOKING] = "revoking",
	[FLM_PAGE_REVOKED] = "revoked",
	[FLM_PAGE_ERROR] = "error",
};

const char *flm_state_name(u32 state)
{
	if (state < ARRAY_SIZE(flm_state_names) && flm_state_names[state])
		return flm_state_names[state];
	return "unknown";
}

const char *flm_reason_name(u32 reason)
{
	switch (reason) {
	case FLM_REASON_NONE:
		return "none";
	case FLM_REASON_ASKED:
		return "asked, no answer yet";
	case FLM_REASON_INTERRUPTED:
		return "interrupted";
	case FLM_REASON_BUSY:
		return "busy";
	case FLM_REASON_NOT_YET_AVAILABLE:
		return "not yet available";
	case FLM_REASON_OVER_QUOTA:
		return "over quota";
	case FLM_REASON_BROKER_UNREACHABLE:
		return "broker unreachable";
	case FLM_REASON_STORE_UNAVAILABLE:
		return "store unavailable";
	case FLM_REASON_BUS_ERROR:
		return "bus error";
	case FLM_REASON_OUT_OF_MEMORY:
		return "out of memory";
	case FLM_REASON_DENIED:
		return "denied";
	case FLM_REASON_TIMED_OUT:
		return "the VMM gave up asking";
	case FLM_REASON_HOST_FAILURE:
		return "the VMM could not map the frame";
	default:
		return "unknown reason";
	}
}

static void flm_wake_all(struct flm_dev *fdev)
{
	int i;

	for (i = 0; i < FLM_WAIT_QUEUES; i++)
		wake_up_all(&fdev->waitq[i]);
}

static void flm_set_entry(struct flm_dev *fdev, u64 page, u32 entry)
{
	spin_lock(&fdev->mirror_lock);
	WRITE_ONCE(fdev->mirror[page], entry);
	spin_unlock(&fdev->mirror_lock);
	wake_up_all(flm_waitq(fdev, page));
}

/* Records the page's new state and removes it from every process. */
static void flm_zap(struct flm_dev *fdev, u64 page, u32 entry)
{
	down_write(&fdev->zap_lock);
	flm_set_entry(fdev, page, entry);
	unmap_mapping_range(fdev->inode->i_mapping, (loff_t)page << PAGE_SHIFT,
			    PAGE_SIZE, 1);
	up_write(&fdev->zap_lock);
}

static void flm_count_event(struct flm_dev *fdev, u32 state, u32 reason)
{
	BUILD_BUG_ON(FLM_REASON_STORE_UNAVAILABLE - FLM_REASON_INTERRUPTED + 1 !=
		     FLM_RETRIES);
	BUILD_BUG_ON(FLM_REASON_HOST_FAILURE - FLM_REASON_BUS_ERROR + 1 !=
		     FLM_ERRORS);
	atomic64_inc(&fdev->stats.events);
	if (state == FLM_PAGE_PENDING && reason >= FLM_REASON_INTERRUPTED &&
	    reason <= FLM_REASON_STORE_UNAVAILABLE)
		atomic64_inc(&fdev->stats.broker_retries[reason -
							 FLM_REASON_INTERRUPTED]);
	if (state == FLM_PAGE_ERROR && reason >= FLM_REASON_BUS_ERROR &&
	    reason <= FLM_REASON_HOST_FAILURE)
		atomic64_inc(&fdev->stats.errors[reason - FLM_REASON_BUS_ERROR]);
}

static void flm_apply_event(struct flm_dev *fdev, u64 event)
{
	u64 page = lower_32_bits(event);
	u32 entry = upper_32_bits(event) & 0xffff;
	u32 state = FLM_ENTRY_STATE(entry);
	u32 old;

	if (page >= fdev->pages || state > FLM_PAGE_ERROR) {
		atomic64_inc(&fdev->stats.bad_events);
		return;
	}
	flm_count_event(fdev, state, FLM_ENTRY_REASON(entry));
	old = FLM_ENTRY_STATE(READ_ONCE(fdev->mirror[page]));
	if (state == FLM_PAGE_REVOKING) {
		flm_zap(fdev, page, entry);
		writel(page, fdev->regs + FLM_REG_REVOKE_ACK);
		atomic64_inc(&fdev->stats.revocations);
	} else if (state != FLM_PAGE_AVAILABLE &&
		   (old == FLM_PAGE_AVAILABLE || old == FLM_STATE_UNKNOWN)) {
		/* A frame lost without REVOKING: never leave it mapped. */
		flm_zap(fdev, page, entry);
	} else {
		flm_set_entry(fdev, page, entry);
	}
}

/*
 * Events were dropped: forget every page, unmap them all, and restart the
 * ring. Turning events off lets every revocation in flight go through,
 * which is right once nothing is mapped.
 */
static void flm_resync(struct flm_dev *fdev)
{
	u64 page;

	down_write(&fdev->zap_lock);
	spin_lock(&fdev->mirror_lock);
	for (page = 0; page < fdev->pages; page++)
		WRITE_ONCE(fdev->mirror[page], FLM_ENTRY(FLM_STATE_UNKNOWN, 0));
	spin_unlock(&fdev->mirror_lock);
	unmap_mapping_range(fdev->inode->i_mapping, 0, 0, 1);
	writel(0, fdev->regs + FLM_REG_CONTROL);
	writel(FLM_CONTROL_EVENTS, fdev->regs + FLM_REG_CONTROL);
	fdev->tail = 0;
	up_write(&fdev->zap_lock);
	flm_wake_all(fdev);
	atomic64_inc(&fdev->stats.resyncs);
	pr_info("%s: event ring overflowed: page states read again\n",
		fdev->name);
}

void flm_drain_events(struct flm_dev *fdev)
{
	u32 status, head;

	mutex_lock(&fdev->event_lock);
	for (;;) {
		status = readl(fdev->regs + FLM_REG_STATUS);
		if (status == ~0u)
			break;	/* the device is gone */
		status &= FLM_STATUS_EVENTS | FLM_STATUS_OVERFLOW;
		if (!status)
			break;
		/* Clear first: an event appended from now on interrupts. */
		writel(status, fdev->regs + FLM_REG_STATUS);
		head = readl(fdev->regs + FLM_REG_EVENT_HEAD);
		if (head - fdev->tail > FLM_EVENT_RING_ENTRIES) {
			status |= FLM_STATUS_OVERFLOW;
		} else {
			while (fdev->tail != head) {
				u32 slot = fdev->tail % FLM_EVENT_RING_ENTRIES;

				flm_apply_event(fdev, readq(fdev->regs +
							    FLM_EVENT_RING +
							    8 * slot));
				fdev->tail++;
			}
			writel(fdev->tail, fdev->regs + FLM_REG_EVENT_TAIL);
		}
		if (status & FLM_STATUS_OVERFLOW)
			flm_resync(fdev);
	}
	mutex_unlock(&fdev->event_lock);
}

static irqreturn_t flm_irq_thread(int irq, void *data)
{
	struct flm_dev *fdev = data;

	atomic64_inc(&fdev->stats.interrupts);
	flm_drain_events(fdev);
	return IRQ_HANDLED;
}

int flm_events_start(struct flm_dev *fdev)
{
	u64 page;
	int ret;

	fdev->mirror = kvmalloc_array(fdev->pages, sizeof(*fdev->mirror),
				      GFP_KERNEL);
	if (!fdev->mirror)
		return -ENOMEM;
	for (page = 0; page < fdev->pages; page++)
		fdev->mirror[page] = FLM_ENTRY(FLM_STATE_UNKNOWN, 0);

	ret = pci_alloc_irq_vectors(fdev->pdev, 1, 1, PCI_IRQ_MSI);
	if (ret < 0)
		goto fail;
	fdev->irq = pci_irq_vector(fdev->pdev, 0);
	ret = request_threaded_irq(fdev->irq, NULL, flm_irq_thread,
				   IRQF_ONESHOT, fdev->name, fdev);
	if (ret) {
		pci_free_irq_vectors(fdev->pdev);
		goto fail;
	}
	fdev->tail = 0;
	writel(FLM_CONTROL_EVENTS, fdev->regs + FLM_REG_CONTROL);
	return 0;

fail:
	kvfree(fdev->mirror);
	fdev->mirror = NULL;
	return ret;
}

void flm_events_stop(struct flm_dev *fdev)
{
	free_irq(fdev->irq, fdev);
	/* Nothing is mapped any more: every revocation may go through. */
	writel(0, fdev->regs + FLM_REG_CONTROL);
	pci_free_irq_vectors(fdev->pdev);
}

/*
 * The page's entry, asking the device when the driver does not know it.
 * Called with zap_lock held for reading on a live device.
 */
u32 flm_page_entry(struct flm_dev *fdev, u64 page)
{
	u32 entry = READ_ONCE(fdev->mirror[page]);
	u32 value;

	if (FLM_ENTRY_STATE(entry) != FLM_STATE_UNKNOWN)
		return entry;
	spin_lock(&fdev->reg_lock);
	writel(page, fdev->regs + FLM_REG_STATE_SELECT);
	value = readl(fdev->regs + FLM_REG_STATE);
	spin_unlock(&fdev->reg_lock);
	if (value == ~0u || FLM_ENTRY_STATE(value) > FLM_PAGE_ERROR)
		value = FLM_ENTRY(FLM_PAGE_ERROR, FLM_REASON_HOST_FAILURE);
	value &= 0xffff;

	spin_lock(&fdev->mirror_lock);
	/* An event that came meanwhile is newer than the answer. */
	if (FLM_ENTRY_STATE(fdev->mirror[page]) == FLM_STATE_UNKNOWN)
		WRITE_ONCE(fdev->mirror[page], value);
	entry = fdev->mirror[page];
	spin_unlock(&fdev->mirror_lock);
	return entry;
}

/*
 * Asks the device for a page that has no frame and nobody asking for it.
 * The device answers PENDING at once, so the mirror says so already; later
 * events bring the outcome. Called with zap_lock held for reading.
 */
void flm_ask(struct flm_dev *fdev, u64 page)
{
	bool ask = false;
	u32 state;

	spin_lock(&fdev->mirror_lock);
	state = FLM_ENTRY_STATE(fdev->mirror[page]);
	if (state == FLM_PAGE_ABSENT || state == FLM_PAGE_REVOKED ||
	    state == FLM_PAGE_ERROR) {
		WRITE_ONCE(fdev->mirror[page],
			   FLM_ENTRY(FLM_PAGE_PENDING, FLM_REASON_ASKED));
		ask = true;
	}
	spin_unlock(&fdev->mirror_lock);
	if (ask) {
		writel(page, fdev->regs + FLM_REG_PREPARE);
		atomic64_inc(&fdev->stats.prepares);
	}
}

/* A waiter gave up on the page as it saw it: its retry gets SIGBUS. */
void flm_mark_expired(struct flm_dev *fdev, u64 page, u32 seen)
{
	spin_lock(&fdev->mirror_lock);
	if ((fdev->mirror[page] & ~FLM_EXPIRED) == (seen & ~FLM_EXPIRED))
		WRITE_ONCE(fdev->mirror[page], fdev->mirror[page] | FLM_EXPIRED);
	spin_unlock(&fdev->mirror_lock);
}

bool flm_take_expired(struct flm_dev *fdev, u64 page)
{
	bool expired;

	spin_lock(&fdev->mirror_lock);
	expired = fdev->mirror[page] & FLM_EXPIRED;
	if (expired)
		WRITE_ONCE(fdev->mirror[page],
			   fdev->mirror[page] & ~FLM_EXPIRED);
	spin_unlock(&fdev->mirror_lock);
	return expired;
}

/* Unbinding: no process keeps a pfn of the device, and waits end. */
void flm_revoke_all(struct flm_dev *fdev)
{
	down_write(&fdev->zap_lock);
	WRITE_ONCE(fdev->dead, true);
	unmap_mapping_range(fdev->inode->i_mapping, 0, 0, 1);
	up_write(&fdev->zap_lock);
	flm_wake_all(fdev);
}
