// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Following the netdev: port state and port events. The RoCE GID table is
 * kept by ib_core's roce_gid_mgmt from the netdev's addresses, because the
 * port declares RDMA_CORE_PORT_IBA_ROCE_UDP_ENCAP and ib_device_set_netdev()
 * ties the port to the netdev; ib_core raises IB_EVENT_GID_CHANGE itself.
 */

#include <linux/netdevice.h>
#include <linux/rtnetlink.h>

#include "sodp.h"

/* The RoCE port state a netdev implies: up and carrier is ACTIVE. */
enum ib_port_state sodp_netdev_port_state(struct net_device *ndev)
{
	if (netif_running(ndev) && netif_carrier_ok(ndev))
		return IB_PORT_ACTIVE;
	return IB_PORT_DOWN;
}

/*
 * Record @state and raise the matching port event if it changed. Called with
 * RTNL held from the notifier; the state is only read without it. Where
 * ib_core raises these events itself (see sodp_compat.h), it does nothing.
 */
void sodp_port_event(struct sodp_dev *sdev, enum ib_port_state state)
{
	struct ib_event ev = {
		.device = &sdev->ibdev,
		.element.port_num = SODP_PORT,
	};

	ASSERT_RTNL();

	if (sodp_core_raises_port_events())
		return;

	if (READ_ONCE(sdev->port_state) == state)
		return;
	WRITE_ONCE(sdev->port_state, state);

	ev.event = state == IB_PORT_ACTIVE ? IB_EVENT_PORT_ACTIVE :
					     IB_EVENT_PORT_ERR;
	ib_dispatch_event(&ev);
}

static int sodp_netdev_event(struct notifier_block *nb, unsigned long event,
			     void *arg)
{
	struct net_device *ndev = netdev_notifier_info_to_dev(arg);
	struct sodp_dev *sdev;

	sdev = sodp_dev_get_by_netdev(ndev);
	if (!sdev)
		return NOTIFY_DONE;

	switch (event) {
	case NETDEV_UNREGISTER:
		/*
		 * We hold RTNL: unregister from ib_core's workqueue. The
		 * netdev waits for ib_core's reference to go, which it does
		 * when that work has run.
		 */
		ib_unregister_device_queued(&sdev->ibdev);
		break;
	case NETDEV_UP:
	case NETDEV_DOWN:
	case NETDEV_CHANGE:
		sodp_port_event(sdev, sodp_netdev_port_state(ndev));
		break;
	default:
		/* MTU, speed and addresses are read live by query_port. */
		break;
	}

	ib_device_put(&sdev->ibdev);
	return NOTIFY_OK;
}

static struct notifier_block sodp_netdev_notifier = {
	.notifier_call = sodp_netdev_event,
};

int sodp_net_init(void)
{
	return register_netdevice_notifier(&sodp_netdev_notifier);
}

void sodp_net_exit(void)
{
	unregister_netdevice_notifier(&sodp_netdev_notifier);
}
