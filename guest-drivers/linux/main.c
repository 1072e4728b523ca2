// SPDX-License-Identifier: GPL-2.0
/*
 * faultline PCI memory device driver.
 *
 * Binds faultline's PCI memory device (proto/guest_abi.h) and offers its
 * window as /dev/faultline-memN: mmap() it shared, and each touched page
 * maps one frame of device memory that the VMM got from the broker, with
 * no copy at either level. See fault.c for the fault path, events.c for how
 * the device says frames come and go, and README.md for the whole story.
 *
 * rmmod is refused while any process has a device open or mapped (the
 * module is in use). Unbinding a device cannot be refused: it takes every
 * mapping away, and later accesses get SIGBUS.
 */

#include <linux/fs.h>
#include <linux/idr.h>
#include <linux/io.h>
#include <linux/module.h>
#include <linux/mount.h>
#include <linux/pseudo_fs.h>
#include <linux/slab.h>

#include "faultline_mem.h"

#define FLM_FS_MAGIC 0x666c6d30	/* "flm0" */

unsigned int flm_wait_ms = 30000;
module_param_named(wait_ms, flm_wait_ms, uint, 0644);
MODULE_PARM_DESC(wait_ms,
		 "How long a fault waits for a frame before SIGBUS (1-100000 ms)");

static DEFINE_IDA(flm_ida);

/*
 * Every open file shares one address_space, so unmap_mapping_range() finds
 * every mapping of a page, whichever device node it came through.
 */
static struct vfsmount *flm_mnt;
static int flm_mnt_count;

static int flm_fs_init_fs_context(struct fs_context *fc)
{
	return init_pseudo(fc, FLM_FS_MAGIC) ? 0 : -ENOMEM;
}

/*
 * No .owner: its superblock would pin the module while a device is bound,
 * and rmmod could never unbind. The last device's last reference drops
 * the mount before the module can go.
 */
static struct file_system_type flm_fs_type = {
	.name = "faultline_mem",
	.init_fs_context = flm_fs_init_fs_context,
	.kill_sb = kill_anon_super,
};

static struct inode *flm_inode_new(void)
{
	struct inode *inode;
	int ret;

	ret = simple_pin_fs(&flm_fs_type, &flm_mnt, &flm_mnt_count);
	if (ret)
		return ERR_PTR(ret);
	inode = alloc_anon_inode(flm_mnt->mnt_sb);
	if (IS_ERR(inode))
		simple_release_fs(&flm_mnt, &flm_mnt_count);
	return inode;
}

static void flm_free(struct kref *ref)
{
	struct flm_dev *fdev = container_of(ref, struct flm_dev, ref);

	kvfree(fdev->mirror);
	if (!IS_ERR_OR_NULL(fdev->inode)) {
		iput(fdev->inode);
		simple_release_fs(&flm_mnt, &flm_mnt_count);
	}
	if (fdev->id >= 0)
		ida_free(&flm_ida, fdev->id);
	kfree(fdev);
}

static int flm_open(struct inode *inode, struct file *file)
{
	struct miscdevice *misc = file->private_data;
	struct flm_dev *fdev = container_of(misc, struct flm_dev, misc);

	if (READ_ONCE(fdev->dead))
		return -ENODEV;
	kref_get(&fdev->ref);
	file->private_data = fdev;
	file->f_mapping = fdev->inode->i_mapping;
	return 0;
}

static int flm_release(struct inode *inode, struct file *file)
{
	struct flm_dev *fdev = file->private_data;

	kref_put(&fdev->ref, flm_free);
	return 0;
}

static int flm_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct flm_dev *fdev = file->private_data;

	/* Device memory is shared: a private copy-on-write view of it is not. */
	if (is_cow_mapping(vma->vm_flags))
		return -EINVAL;
	if (READ_ONCE(fdev->dead))
		return -ENODEV;
	vm_flags_set(vma, VM_PFNMAP | VM_IO | VM_DONTEXPAND | VM_DONTDUMP);
	/* A prefetchable BAR: write-combined, as its memtype was reserved. */
	vma->vm_page_prot =
		pgprot_decrypted(pgprot_writecombine(vma->vm_page_prot));
	vma->vm_private_data = fdev;
	vma->vm_ops = &flm_vm_ops;
	atomic_inc(&fdev->mappings);
	return 0;
}

static const struct file_operations flm_fops = {
	.owner = THIS_MODULE,
	.open = flm_open,
	.release = flm_release,
	.mmap = flm_mmap,
	.llseek = noop_llseek,
};

/* Reads the register block; a device this driver cannot use is -ENODEV. */
static int flm_check_device(struct flm_dev *fdev)
{
	struct pci_dev *pdev = fdev->pdev;
	u32 version = readl(fdev->regs + FLM_REG_VERSION);
	u32 features = 0;
	u64 frames;

	if (readl(fdev->regs + FLM_REG_MAGIC) != FLM_MAGIC || version < 1 ||
	    readl(fdev->regs + FLM_REG_FRAME_BYTES) != PAGE_SIZE) {
		dev_err(&pdev->dev,
			"not a faultline memory device: magic %#x version %u frame size %u\n",
			readl(fdev->regs + FLM_REG_MAGIC), version,
			readl(fdev->regs + FLM_REG_FRAME_BYTES));
		return -ENODEV;
	}
	frames = readq(fdev->regs + FLM_REG_FRAME_COUNT);
	if (!frames || frames > fdev->window_bytes / PAGE_SIZE) {
		dev_err(&pdev->dev, "%llu frames do not fit a %pa-byte window\n",
			frames, &fdev->window_bytes);
		return -ENODEV;
	}
	fdev->pages = frames;
	if (version >= 2)
		features = readl(fdev->regs + FLM_REG_FEATURES);
	fdev->events = features & FLM_FEATURE_PAGE_EVENTS;
	if (!fdev->events)
		dev_info(&pdev->dev,
			 "register set version %u without page events: pages are mapped at once, and the VMM alone handles revocations and errors\n",
			 version);
	return 0;
}

static int flm_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct flm_dev *fdev;
	int ret, i;

	fdev = kzalloc(sizeof(*fdev), GFP_KERNEL);
	if (!fdev)
		return -ENOMEM;
	kref_init(&fdev->ref);
	fdev->pdev = pdev;
	fdev->id = -1;
	init_rwsem(&fdev->zap_lock);
	spin_lock_init(&fdev->mirror_lock);
	spin_lock_init(&fdev->reg_lock);
	mutex_init(&fdev->event_lock);
	atomic_set(&fdev->mappings, 0);
	for (i = 0; i < FLM_WAIT_QUEUES; i++)
		init_waitqueue_head(&fdev->waitq[i]);

	ret = pcim_enable_device(pdev);
	if (ret)
		goto fail;
	ret = pcim_request_all_regions(pdev, FLM_NAME);
	if (ret)
		goto fail;
	if (!(pci_resource_flags(pdev, FLM_WINDOW_BAR) & IORESOURCE_MEM) ||
	    !(pci_resource_flags(pdev, FLM_WINDOW_BAR) & IORESOURCE_PREFETCH)) {
		dev_err(&pdev->dev, "BAR %d is not a prefetchable memory window\n",
			FLM_WINDOW_BAR);
		ret = -ENODEV;
		goto fail;
	}
	fdev->window_phys = pci_resource_start(pdev, FLM_WINDOW_BAR);
	fdev->window_bytes = pci_resource_len(pdev, FLM_WINDOW_BAR);
	fdev->regs = pcim_iomap(pdev, FLM_REGISTERS_BAR, 0);
	if (!fdev->regs) {
		ret = -ENOMEM;
		goto fail;
	}
	ret = flm_check_device(fdev);
	if (ret)
		goto fail;
	pci_set_master(pdev);

	ret = ida_alloc(&flm_ida, GFP_KERNEL);
	if (ret < 0)
		goto fail;
	fdev->id = ret;
	snprintf(fdev->name, sizeof(fdev->name), FLM_NAME "%d", fdev->id);
	fdev->inode = flm_inode_new();
	if (IS_ERR(fdev->inode)) {
		ret = PTR_ERR(fdev->inode);
		goto fail;
	}
	if (fdev->events && flm_events_start(fdev)) {
		dev_warn(&pdev->dev,
			 "page events need an MSI, and there is none: pages are mapped at once\n");
		fdev->events = false;
	}
	ret = arch_io_reserve_memtype_wc(fdev->window_phys, fdev->window_bytes);
	if (ret)
		goto fail_events;
	fdev->wc_cookie = arch_phys_wc_add(fdev->window_phys,
					   fdev->window_bytes);

	fdev->misc.minor = MISC_DYNAMIC_MINOR;
	fdev->misc.name = fdev->name;
	fdev->misc.fops = &flm_fops;
	fdev->misc.parent = &pdev->dev;
	fdev->misc.groups = flm_groups;
	fdev->misc.mode = 0660;
	ret = misc_register(&fdev->misc);
	if (ret)
		goto fail_memtype;
	pci_set_drvdata(pdev, fdev);
	dev_info(&pdev->dev, "/dev/%s: %llu pages at %pa, %s\n", fdev->name,
		 fdev->pages, &fdev->window_phys,
		 fdev->events ? "frames on demand, page events by MSI" :
				"frames mapped directly");
	return 0;

fail_memtype:
	arch_phys_wc_del(fdev->wc_cookie);
	arch_io_free_memtype_wc(fdev->window_phys, fdev->window_bytes);
fail_events:
	if (fdev->events)
		flm_events_stop(fdev);
fail:
	kref_put(&fdev->ref, flm_free);
	return ret;
}

static void flm_remove(struct pci_dev *pdev)
{
	struct flm_dev *fdev = pci_get_drvdata(pdev);

	misc_deregister(&fdev->misc);
	flm_revoke_all(fdev);
	if (atomic_read(&fdev->mappings))
		dev_info(&pdev->dev,
			 "unbound with %d mappings: their accesses now get SIGBUS\n",
			 atomic_read(&fdev->mappings));
	if (fdev->events)
		flm_events_stop(fdev);
	arch_phys_wc_del(fdev->wc_cookie);
	arch_io_free_memtype_wc(fdev->window_phys, fdev->window_bytes);
	kref_put(&fdev->ref, flm_free);
}

static const struct pci_device_id flm_ids[] = {
	{ PCI_DEVICE(FLM_VENDOR_ID, FLM_DEVICE_ID) },
	{ }
};
MODULE_DEVICE_TABLE(pci, flm_ids);

static struct pci_driver flm_driver = {
	.name = FLM_NAME,
	.id_table = flm_ids,
	.probe = flm_probe,
	.remove = flm_remove,
};
module_pci_driver(flm_driver);

MODULE_DESCRIPTION("faultline PCI memory device: frames mapped fault by fault");
MODULE_LICENSE("GPL");
