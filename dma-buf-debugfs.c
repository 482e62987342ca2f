// SPDX-License-Identifier: GPL-2.0-only
/*
 * debugfs dma_buf/bufinfo: every buffer in the system with its fences and
 * importers.  The text layout is 6.12's to the byte, since tools (Android's
 * libdmabufinfo among them) parse it.
 *
 * With CONFIG_DMABUF_DEBUG_HOLDERS, dma_buf/holders beside it: every
 * buffer with who holds what of it (dma-buf-holders.c).
 */

#include <linux/debugfs.h>
#include <linux/dma-buf.h>
#include <linux/dma-resv.h>
#include <linux/fs.h>
#include <linux/seq_file.h>
#include <linux/spinlock.h>

#include "dma-buf-internal.h"

struct dma_buf_bufinfo {
	struct seq_file *s;
	unsigned int objects;
	size_t bytes;
};

static int dma_buf_bufinfo_one(struct dma_buf *buf, void *data)
{
	struct dma_buf_bufinfo *info = data;
	struct seq_file *s = info->s;
	struct dma_buf_attachment *attach;
	unsigned int devices = 0;
	int ret;

	/* Fences and attachments only hold still under the buffer's lock. */
	ret = dma_resv_lock_interruptible(buf->resv, NULL);
	if (ret)
		return ret;

	spin_lock(&buf->name_lock);
	seq_printf(s, "%08zu\t%08x\t%08x\t%08ld\t%s\t%08lu\t%s\n",
		   buf->size, buf->file->f_flags,
		   (__force unsigned int)buf->file->f_mode,
		   file_count(buf->file), buf->exp_name,
		   file_inode(buf->file)->i_ino,
		   buf->name ?: "<none>");
	spin_unlock(&buf->name_lock);

	dma_resv_describe(buf->resv, s);

	seq_puts(s, "\tAttached Devices:\n");
	list_for_each_entry(attach, &buf->attachments, node) {
		seq_printf(s, "\t%s\n", dev_name(attach->dev));
		devices++;
	}
	dma_resv_unlock(buf->resv);

	seq_printf(s, "Total %u devices attached\n\n", devices);

	info->objects++;
	info->bytes += buf->size;
	return 0;
}

static int dma_buf_bufinfo_show(struct seq_file *s, void *unused)
{
	struct dma_buf_bufinfo info = { .s = s };
	int ret;

	/* Column titles padded to the 8 digits of the numbers below them. */
	seq_puts(s, "\nDma-buf Objects:\n"
		 "size    \tflags   \tmode    \tcount   \texp_name\tino     \tname\n");

	ret = dma_buf_for_each(dma_buf_bufinfo_one, &info);
	if (ret)
		return ret;

	seq_printf(s, "\nTotal %u objects, %zu bytes\n", info.objects, info.bytes);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(dma_buf_bufinfo);

#if IS_ENABLED(CONFIG_DMABUF_DEBUG_HOLDERS)
static int dma_buf_holders_one(struct dma_buf *buf, void *s)
{
	dma_buf_holders_show(s, buf);
	return 0;
}

static int dma_buf_holders_list_show(struct seq_file *s, void *unused)
{
	return dma_buf_for_each(dma_buf_holders_one, s);
}
DEFINE_SHOW_ATTRIBUTE(dma_buf_holders_list);
#endif

static struct dentry *bufinfo_dir;

/**
 * dma_buf_debugfs_init - create debugfs dma_buf/bufinfo (and holders)
 *
 * Called once from the core's initcall, before any buffer can exist.
 * debugfs being unavailable is not fatal: the listing is then missing.
 *
 * Return: 0 on success, a negative errno when the directory could not be
 * made.
 */
int dma_buf_debugfs_init(void)
{
	struct dentry *dir;

	dir = debugfs_create_dir("dma_buf", NULL);
	if (IS_ERR(dir))
		return PTR_ERR(dir);

	debugfs_create_file("bufinfo", 0444, dir, NULL, &dma_buf_bufinfo_fops);
#if IS_ENABLED(CONFIG_DMABUF_DEBUG_HOLDERS)
	debugfs_create_file("holders", 0444, dir, NULL,
			    &dma_buf_holders_list_fops);
#endif
	bufinfo_dir = dir;
	return 0;
}

/**
 * dma_buf_debugfs_exit - remove what dma_buf_debugfs_init() created
 *
 * Waits for readers of the files that are still inside them to leave.
 */
void dma_buf_debugfs_exit(void)
{
	debugfs_remove_recursive(bufinfo_dir);
	bufinfo_dir = NULL;
}
