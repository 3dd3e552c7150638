// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * sodp module life cycle: "rdma link add NAME type sodp netdev DEV" creates a
 * device, "rdma link delete NAME" (or the netdev going away, or rmmod)
 * removes it.
 */

#include <linux/module.h>
#include <linux/if_arp.h>
#include <linux/if_vlan.h>
#include <rdma/ib_cache.h>
#include <rdma/rdma_netlink.h>

#include "sodp.h"
#include "sodp_odp.h"

struct sodp_obj_counts sodp_objs;

/* Serialises sodp_newlink(); see the lock order in sodp.h. */
static DEFINE_MUTEX(sodp_link_mutex);

/*
 * sodp_dev_list holds every sodp_dev from just before ib_register_device()
 * until its dealloc_driver callback, which is the last driver callback
 * ib_core makes for a device. Protected by sodp_dev_lock.
 */
static LIST_HEAD(sodp_dev_list);
static DEFINE_MUTEX(sodp_dev_lock);

/**
 * sodp_dev_get_by_netdev - find the registered sodp device on @ndev
 * @ndev: the netdev, compared by address
 *
 * Return: the device with an ib_device_try_get() reference the caller drops
 * with ib_device_put(), or NULL if there is none or it is not (or no longer)
 * registered.
 */
struct sodp_dev *sodp_dev_get_by_netdev(struct net_device *ndev)
{
	struct sodp_dev *sdev, *found = NULL;

	mutex_lock(&sodp_dev_lock);
	list_for_each_entry(sdev, &sodp_dev_list, list) {
		if (sdev->ndev == ndev && ib_device_try_get(&sdev->ibdev)) {
			found = sdev;
			break;
		}
	}
	mutex_unlock(&sodp_dev_lock);
	return found;
}

static bool sodp_netdev_taken(struct net_device *ndev)
{
	struct sodp_dev *sdev;
	bool taken = false;

	lockdep_assert_held(&sodp_link_mutex);

	/*
	 * Any entry counts, registered or not: an entry being unregistered
	 * still owns the netdev until its dealloc_driver runs.
	 */
	mutex_lock(&sodp_dev_lock);
	list_for_each_entry(sdev, &sodp_dev_list, list) {
		if (sdev->ndev == ndev) {
			taken = true;
			break;
		}
	}
	mutex_unlock(&sodp_dev_lock);
	return taken;
}

/* Called by ib_core through sodp_dealloc_driver(). */
/**
 * sodp_dev_get_by_gid - find the registered sodp device that owns @gid
 * @gid: a RoCEv2 GID (a destination address)
 *
 * Used by the engine to tell a loopback destination (a QP on this host)
 * from a remote one.
 *
 * Return: the device with a reference (ib_device_put() it), or NULL.
 */
struct sodp_dev *sodp_dev_get_by_gid(const union ib_gid *gid)
{
	const struct ib_gid_attr *gattr;
	struct sodp_dev *sdev, *found = NULL;

	mutex_lock(&sodp_dev_lock);
	list_for_each_entry(sdev, &sodp_dev_list, list) {
		if (!ib_device_try_get(&sdev->ibdev))
			continue;
		gattr = rdma_find_gid(&sdev->ibdev, gid,
				      IB_GID_TYPE_ROCE_UDP_ENCAP, NULL);
		if (!IS_ERR(gattr)) {
			rdma_put_gid_attr(gattr);
			found = sdev;
			break;
		}
		ib_device_put(&sdev->ibdev);
	}
	mutex_unlock(&sodp_dev_lock);
	return found;
}

static void sodp_dev_list_del(struct sodp_dev *sdev)
{
	mutex_lock(&sodp_dev_lock);
	list_del_init(&sdev->list);
	mutex_unlock(&sodp_dev_lock);
}

void sodp_dealloc_driver(struct ib_device *ibdev)
{
	struct sodp_dev *sdev = to_sdev(ibdev);

	ida_destroy(&sdev->pd_ida);
	WARN_ON_ONCE(!xa_empty(&sdev->qp_xa));
	xa_destroy(&sdev->qp_xa);
	ida_destroy(&sdev->cq_ida);
	ida_destroy(&sdev->srq_ida);
	sodp_mr_dev_fini(sdev);
	netdev_put(sdev->ndev, &sdev->ndev_tracker);
	sodp_dev_list_del(sdev);
	atomic_dec(&sodp_objs.devices);
}

static int sodp_check_netdev(const char *ibdev_name, struct net_device *ndev)
{
	if (ndev->type != ARPHRD_ETHER || (ndev->flags & IFF_LOOPBACK)) {
		pr_info("%s: %s: %s is not an Ethernet device (type %u); RoCE needs Ethernet\n",
			SODP_DRV_NAME, ibdev_name, netdev_name(ndev),
			ndev->type);
		return -EPROTONOSUPPORT;
	}
	if (is_vlan_dev(ndev)) {
		pr_info("%s: %s: %s is a VLAN device; create sodp on the real device %s\n",
			SODP_DRV_NAME, ibdev_name, netdev_name(ndev),
			netdev_name(vlan_dev_real_dev(ndev)));
		return -EPERM;
	}
	if (!netif_running(ndev)) {
		pr_info("%s: %s: %s is down; bring it up first\n",
			SODP_DRV_NAME, ibdev_name, netdev_name(ndev));
		return -ENETDOWN;
	}
	if (sodp_netdev_taken(ndev)) {
		pr_info("%s: %s: %s already has a sodp device\n",
			SODP_DRV_NAME, ibdev_name, netdev_name(ndev));
		return -EEXIST;
	}
	return 0;
}

static int sodp_newlink(const char *ibdev_name, struct net_device *ndev)
{
	struct sodp_dev *sdev;
	int err;

	mutex_lock(&sodp_link_mutex);

	err = sodp_check_netdev(ibdev_name, ndev);
	if (err)
		goto out_unlock;

	sdev = ib_alloc_device(sodp_dev, ibdev);
	if (!sdev) {
		err = -ENOMEM;
		goto out_unlock;
	}
	sdev->ndev = ndev;
	netdev_hold(ndev, &sdev->ndev_tracker, GFP_KERNEL);
	ida_init(&sdev->pd_ida);
	atomic_inc(&sodp_objs.devices);

	mutex_lock(&sodp_dev_lock);
	list_add_tail(&sdev->list, &sodp_dev_list);
	mutex_unlock(&sodp_dev_lock);

	err = sodp_register_device(sdev, ibdev_name);
	if (err)
		goto out_dealloc;

	mutex_unlock(&sodp_link_mutex);
	return 0;

out_dealloc:
	/* Calls sodp_dealloc_driver(): unlinks, uncounts, drops ndev. */
	ib_dealloc_device(&sdev->ibdev);
out_unlock:
	mutex_unlock(&sodp_link_mutex);
	return err;
}

static struct rdma_link_ops sodp_link_ops = {
	.type = SODP_DRV_NAME,
	.newlink = sodp_newlink,
};

/*
 * Unregister every device, whoever started its unregistration. For each one
 * we hold the struct device (so the memory stays) and call
 * ib_unregister_device(), which takes the device's unregistration lock: if
 * "rdma link delete" or the netdev notifier's queued work is unregistering it
 * right now, this waits until that has finished, including our
 * dealloc_driver callback. That is the fence that lets the module text go.
 */
static void sodp_unregister_all(void)
{
	struct sodp_dev *sdev, *prev = NULL;

	mutex_lock(&sodp_dev_lock);
	while ((sdev = list_first_entry_or_null(&sodp_dev_list,
						struct sodp_dev, list))) {
		if (WARN_ON(sdev == prev)) {
			/* dealloc_driver did not run: never loop forever. */
			list_del_init(&sdev->list);
			continue;
		}
		get_device(&sdev->ibdev.dev);
		mutex_unlock(&sodp_dev_lock);

		ib_unregister_device(&sdev->ibdev);
		put_device(&sdev->ibdev.dev);
		prev = sdev;

		mutex_lock(&sodp_dev_lock);
	}
	mutex_unlock(&sodp_dev_lock);
}

static void sodp_check_leaks(void)
{
	int devices = atomic_read(&sodp_objs.devices);
	int ucontexts = atomic_read(&sodp_objs.ucontexts);
	int pds = atomic_read(&sodp_objs.pds);
	int mrs = atomic_read(&sodp_objs.mrs);
	s64 pinned = atomic64_read(&sodp_objs.mr_pinned_pages);
	int cqs = atomic_read(&sodp_objs.cqs);
	int srqs = atomic_read(&sodp_objs.srqs);
	int qps = atomic_read(&sodp_objs.qps);

	if (devices || ucontexts || pds || mrs || pinned || cqs || srqs || qps)
		pr_err("%s: leaked objects at unload: %d devices, %d ucontexts, %d pds, %d mrs, %lld pinned pages, %d cqs, %d srqs, %d qps\n",
		       SODP_DRV_NAME, devices, ucontexts, pds, mrs, pinned,
		       cqs, srqs, qps);
}

static int __init sodp_init(void)
{
	int err;

	err = sodp_net_init();
	if (err)
		return err;

	sodp_debugfs_init();
	err = sodp_odp_init();
	if (err)
		goto err_debugfs;
	err = sodp_engine_init();
	if (err)
		goto err_odp;
	rdma_link_register(&sodp_link_ops);
	pr_info("%s: loaded, version %s, ABI %u\n", SODP_DRV_NAME,
		SODP_DRV_VERSION, SODP_ABI_VERSION);
	return 0;

err_odp:
	sodp_odp_exit();
err_debugfs:
	sodp_debugfs_exit();
	sodp_net_exit();
	return err;
}

static void __exit sodp_exit(void)
{
	/* No newlink runs after this returns: it takes link_ops_rwsem. */
	rdma_link_unregister(&sodp_link_ops);
	/* No notifier call runs after this returns: it takes RTNL. */
	sodp_net_exit();

	sodp_unregister_all();
	/* Every QP is gone with its device: no send worker is queued. */
	sodp_engine_exit();
	sodp_odp_exit();
	sodp_debugfs_exit();
	sodp_check_leaks();
	pr_info("%s: unloaded\n", SODP_DRV_NAME);
}

module_init(sodp_init);
module_exit(sodp_exit);

MODULE_AUTHOR("sodp developers");
MODULE_DESCRIPTION("Software RoCEv2 device with On-Demand Paging");
MODULE_LICENSE("Dual BSD/GPL");
MODULE_VERSION(SODP_DRV_VERSION);
MODULE_ALIAS_RDMA_LINK(SODP_DRV_NAME);
