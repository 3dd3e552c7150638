// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * /sys/kernel/debug/sodp/objects: live object counts, one "name count" pair
 * a line. Tests read it to prove that nothing leaks.
 */

#include <linux/debugfs.h>
#include <linux/seq_file.h>

#include "sodp.h"

static struct dentry *sodp_debugfs_root;

static int sodp_objects_show(struct seq_file *s, void *unused)
{
	seq_printf(s, "devices %d\n", atomic_read(&sodp_objs.devices));
	seq_printf(s, "ucontexts %d\n", atomic_read(&sodp_objs.ucontexts));
	seq_printf(s, "pds %d\n", atomic_read(&sodp_objs.pds));
	seq_printf(s, "mrs %d\n", atomic_read(&sodp_objs.mrs));
	seq_printf(s, "mr_pinned_pages %lld\n",
		   atomic64_read(&sodp_objs.mr_pinned_pages));
	seq_printf(s, "cqs %d\n", atomic_read(&sodp_objs.cqs));
	seq_printf(s, "srqs %d\n", atomic_read(&sodp_objs.srqs));
	seq_printf(s, "qps %d\n", atomic_read(&sodp_objs.qps));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(sodp_objects);

void sodp_debugfs_init(void)
{
	/* debugfs failures are not errors: the driver works without it. */
	sodp_debugfs_root = debugfs_create_dir(SODP_DRV_NAME, NULL);
	debugfs_create_file("objects", 0444, sodp_debugfs_root, NULL,
			    &sodp_objects_fops);
}

void sodp_debugfs_exit(void)
{
	debugfs_remove_recursive(sodp_debugfs_root);
	sodp_debugfs_root = NULL;
}
