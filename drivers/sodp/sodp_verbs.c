// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The ib_device: its attributes, ports, user contexts and protection
 * domains, and its registration with ib_core.
 *
 * Only what works is advertised: a capability appears in query_device or
 * query_port in the same change that makes it work.
 */

#include <linux/cpumask.h>
#include <linux/ethtool.h>
#include <linux/rtnetlink.h>
#include <net/addrconf.h>
#include <rdma/ib_addr.h>
#include <rdma/ib_mad.h>
#include <rdma/uverbs_ioctl.h>

#include "sodp.h"

static int sodp_query_device(struct ib_device *ibdev,
			     struct ib_device_attr *attr,
			     struct ib_udata *udata)
{
	if (udata && (udata->inlen || udata->outlen))
		return -EINVAL;

	memset(attr, 0, sizeof(*attr));
	attr->fw_ver = SODP_FW_VER;
	attr->sys_image_guid = ibdev->node_guid;
	attr->vendor_id = SODP_VENDOR_ID;
	attr->vendor_part_id = SODP_VENDOR_PART_ID;
	attr->hw_ver = 0;
	attr->max_pd = SODP_MAX_PD;
	attr->max_pkeys = SODP_PKEY_TBL_LEN;
	attr->kernel_cap_flags = IBK_ALLOW_USER_UNREG;

	/* Memory regions (sodp_mr.c). */
	attr->max_mr = to_sdev(ibdev)->max_mr;
	/* An implicit ODP MR covers the address space: length U64_MAX. */
	attr->max_mr_size = U64_MAX;
	attr->page_size_cap = PAGE_SIZE;
	/* ODP registration, explicit and implicit, and RC over it. */
	attr->kernel_cap_flags |= IBK_ON_DEMAND_PAGING;
	attr->odp_caps.general_caps = IB_ODP_SUPPORT | IB_ODP_SUPPORT_IMPLICIT;
	attr->odp_caps.per_transport_caps.rc_odp_caps =
		IB_ODP_SUPPORT_SEND | IB_ODP_SUPPORT_RECV |
		IB_ODP_SUPPORT_WRITE | IB_ODP_SUPPORT_READ |
		IB_ODP_SUPPORT_ATOMIC | IB_ODP_SUPPORT_SRQ_RECV;

	/* RC queue pairs, CQs and SRQs on shared rings (sodp_qp.c etc.). */
	attr->device_cap_flags = IB_DEVICE_RC_RNR_NAK_GEN |
				 IB_DEVICE_SYS_IMAGE_GUID;
	attr->max_qp = SODP_MAX_QP;
	attr->max_qp_wr = SODP_MAX_QP_WR;
	attr->max_send_sge = SODP_MAX_SGE;
	attr->max_recv_sge = SODP_MAX_SGE;
	attr->max_sge_rd = SODP_MAX_SGE;
	attr->max_cq = SODP_MAX_CQ;
	attr->max_cqe = SODP_MAX_CQE;
	attr->max_qp_rd_atom = SODP_MAX_RD_ATOMIC;
	attr->max_qp_init_rd_atom = SODP_MAX_RD_ATOMIC;
	attr->max_res_rd_atom = SODP_MAX_QP * SODP_MAX_RD_ATOMIC;
	attr->atomic_cap = IB_ATOMIC_HCA;
	attr->max_srq = SODP_MAX_SRQ;
	attr->max_srq_wr = SODP_MAX_SRQ_WR;
	attr->max_srq_sge = SODP_MAX_SGE;
	return 0;
}

/*
 * The largest IB MTU whose RoCEv2 packet (GRH, UDP, BTH, extended headers and
 * ICRC included) fits the netdev's MTU; 256 at the least, as rxe reports.
 */
static enum ib_mtu sodp_active_mtu(struct net_device *ndev)
{
	enum ib_mtu mtu = iboe_get_mtu(READ_ONCE(ndev->mtu));

	return mtu ? mtu : IB_MTU_256;
}

/*
 * Width and speed from the netdev's link speed, as ib_core maps it. A
 * netdev that does not know its speed (virtio-net by default) gets what
 * ib_core would default to, 1X SDR, without asking ib_core: on 6.1 that
 * logs "speed is unknown" at warning level on every query_port.
 */
static int sodp_port_speed(struct ib_device *ibdev, u32 port_num,
			   struct net_device *ndev, struct ib_port_attr *attr)
{
	struct ethtool_link_ksettings ks = {};
	bool known;

	rtnl_lock();
	known = !__ethtool_get_link_ksettings(ndev, &ks) &&
		ks.base.speed != (u32)SPEED_UNKNOWN;
	rtnl_unlock();
	if (!known) {
		attr->active_width = IB_WIDTH_1X;
		attr->active_speed = IB_SPEED_SDR;
		return 0;
	}
	/* Takes RTNL: nothing of ours is held here. */
	return ib_get_eth_speed(ibdev, port_num, &attr->active_speed,
				&attr->active_width);
}

static int sodp_query_port(struct ib_device *ibdev, u32 port_num,
			   struct ib_port_attr *attr)
{
	struct net_device *ndev = to_sdev(ibdev)->ndev;

	/* ib_core validates port_num and zeroes *attr before calling us. */
	attr->gid_tbl_len = SODP_GID_TBL_LEN;
	attr->pkey_tbl_len = SODP_PKEY_TBL_LEN;
	attr->max_mtu = IB_MTU_4096;
	attr->active_mtu = sodp_active_mtu(ndev);
	attr->max_msg_sz = SODP_MAX_MSG_SZ;
	attr->state = sodp_netdev_port_state(ndev);
	if (attr->state == IB_PORT_ACTIVE)
		attr->phys_state = IB_PORT_PHYS_STATE_LINK_UP;
	else if (netif_running(ndev))
		attr->phys_state = IB_PORT_PHYS_STATE_POLLING;
	else
		attr->phys_state = IB_PORT_PHYS_STATE_DISABLED;
	attr->lid = 0;
	attr->sm_lid = 0;
	attr->lmc = 0;

	return sodp_port_speed(ibdev, port_num, ndev, attr);
}

static int sodp_get_port_immutable(struct ib_device *ibdev, u32 port_num,
				   struct ib_port_immutable *immutable)
{
	/*
	 * Fixed for the device's life; the values must agree with
	 * sodp_query_port(). No ib_query_port() here: the netdev may be
	 * down while ib_core sets the device up.
	 */
	immutable->pkey_tbl_len = SODP_PKEY_TBL_LEN;
	immutable->gid_tbl_len = SODP_GID_TBL_LEN;
	immutable->core_cap_flags = RDMA_CORE_PORT_IBA_ROCE_UDP_ENCAP;
	immutable->max_mad_size = IB_MGMT_MAD_SIZE;
	return 0;
}

static enum rdma_link_layer sodp_get_link_layer(struct ib_device *ibdev,
						u32 port_num)
{
	return IB_LINK_LAYER_ETHERNET;
}

static int sodp_query_pkey(struct ib_device *ibdev, u32 port_num, u16 index,
			   u16 *pkey)
{
	if (index >= SODP_PKEY_TBL_LEN)
		return -EINVAL;
	*pkey = IB_DEFAULT_PKEY_FULL;
	return 0;
}

static void sodp_get_dev_fw_str(struct ib_device *ibdev, char *str)
{
	snprintf(str, IB_FW_VERSION_NAME_MAX, "%s", SODP_DRV_VERSION);
}

static int sodp_alloc_ucontext(struct ib_ucontext *ibuc,
			       struct ib_udata *udata)
{
	struct sodp_alloc_ucontext_resp resp = {};
	struct sodp_alloc_ucontext_req req;
	int err;

	if (udata->inlen < sizeof(req))
		return -EINVAL;
	err = ib_copy_from_udata(&req, udata, sizeof(req));
	if (err)
		return err;
	if (req.abi_version != SODP_ABI_VERSION || req.reserved)
		return -EINVAL;
	/* A newer provider may append fields; they must be zero for us. */
	if (udata->inlen > sizeof(req) &&
	    !ib_is_udata_cleared(udata, sizeof(req),
				 udata->inlen - sizeof(req)))
		return -EOPNOTSUPP;

	resp.abi_version = SODP_ABI_VERSION;
	resp.caps = 0;
	err = ib_copy_to_udata(udata, &resp, min(udata->outlen, sizeof(resp)));
	if (err)
		return err;

	atomic_inc(&sodp_objs.ucontexts);
	return 0;
}

static void sodp_dealloc_ucontext(struct ib_ucontext *ibuc)
{
	atomic_dec(&sodp_objs.ucontexts);
}

static int sodp_alloc_pd(struct ib_pd *ibpd, struct ib_udata *udata)
{
	struct sodp_dev *sdev = to_sdev(ibpd->device);
	struct sodp_pd *pd = to_spd(ibpd);
	struct sodp_alloc_pd_resp resp = {};
	int id, err;

	id = ida_alloc_range(&sdev->pd_ida, 1, SODP_MAX_PD, GFP_KERNEL);
	if (id < 0)
		return id == -ENOSPC ? -ENOMEM : id;
	pd->pdn = id;

	if (udata) {
		resp.pdn = pd->pdn;
		err = ib_copy_to_udata(udata, &resp,
				       min(udata->outlen, sizeof(resp)));
		if (err)
			goto err_free_id;
	}

	atomic_inc(&sodp_objs.pds);
	return 0;

err_free_id:
	ida_free(&sdev->pd_ida, pd->pdn);
	return err;
}

static int sodp_dealloc_pd(struct ib_pd *ibpd, struct ib_udata *udata)
{
	struct sodp_dev *sdev = to_sdev(ibpd->device);

	ida_free(&sdev->pd_ida, to_spd(ibpd)->pdn);
	atomic_dec(&sodp_objs.pds);
	return 0;
}

static ssize_t parent_show(struct device *device,
			   struct device_attribute *attr, char *buf)
{
	struct sodp_dev *sdev =
		rdma_device_to_drv_device(device, struct sodp_dev, ibdev);

	return sysfs_emit(buf, "%s\n", netdev_name(sdev->ndev));
}
static DEVICE_ATTR_RO(parent);

static ssize_t sodp_abi_version_show(struct device *device,
				     struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", SODP_ABI_VERSION);
}

/* The provider matches devices on this file: see sodp-abi.h. */
static struct device_attribute dev_attr_sodp_abi_version =
	__ATTR(sodp_abi_version, 0444, sodp_abi_version_show, NULL);

static struct attribute *sodp_dev_attributes[] = {
	&dev_attr_parent.attr,
	&dev_attr_sodp_abi_version.attr,
	NULL,
};

static const struct attribute_group sodp_attr_group = {
	.attrs = sodp_dev_attributes,
};

static const struct ib_device_ops sodp_dev_ops = {
	.owner = THIS_MODULE,
	.driver_id = RDMA_DRIVER_UNKNOWN,
	.uverbs_abi_ver = SODP_ABI_VERSION,

	.device_group = &sodp_attr_group,

	/*
	 * No poll_cq and no get_dma_mr: ib_core then never offers the device
	 * to kernel ULPs (kverbs_provider is false), and every CQ, QP and
	 * SRQ belongs to user space. CQ creation and resize are set by
	 * sodp_compat_set_cq_ops().
	 */
	.advise_mr = sodp_advise_mr,
	.alloc_pd = sodp_alloc_pd,
	.alloc_ucontext = sodp_alloc_ucontext,
	.create_qp = sodp_create_qp,
	.create_srq = sodp_create_srq,
	.dealloc_driver = sodp_dealloc_driver,
	.dealloc_pd = sodp_dealloc_pd,
	.dealloc_ucontext = sodp_dealloc_ucontext,
	.dereg_mr = sodp_dereg_mr,
	.destroy_cq = sodp_destroy_cq,
	.destroy_qp = sodp_destroy_qp,
	.destroy_srq = sodp_destroy_srq,
	.fill_res_mr_entry = sodp_fill_res_mr_entry,
	.fill_stat_mr_entry = sodp_fill_stat_mr_entry,
	.get_dev_fw_str = sodp_get_dev_fw_str,
	.get_link_layer = sodp_get_link_layer,
	.get_port_immutable = sodp_get_port_immutable,
	.mmap = sodp_mmap,
	.mmap_free = sodp_mmap_free,
	.modify_qp = sodp_modify_qp,
	.modify_srq = sodp_modify_srq,
	.post_recv = sodp_post_recv,
	.post_send = sodp_post_send,
	.post_srq_recv = sodp_post_srq_recv,
	.query_device = sodp_query_device,
	.query_pkey = sodp_query_pkey,
	.query_port = sodp_query_port,
	.query_qp = sodp_query_qp,
	.query_srq = sodp_query_srq,
	.reg_user_mr = sodp_compat_reg_user_mr,
	.req_notify_cq = sodp_req_notify_cq,
	.rereg_user_mr = sodp_rereg_user_mr,

	INIT_RDMA_OBJ_SIZE(ib_cq, sodp_cq, ibcq),
	INIT_RDMA_OBJ_SIZE(ib_pd, sodp_pd, ibpd),
	INIT_RDMA_OBJ_SIZE(ib_qp, sodp_qp, ibqp),
	INIT_RDMA_OBJ_SIZE(ib_srq, sodp_srq, ibsrq),
	INIT_RDMA_OBJ_SIZE(ib_ucontext, sodp_ucontext, ibuc),
};

/**
 * sodp_register_device - set up and register a new device with ib_core
 * @sdev: allocated with ib_alloc_device(), on sodp_dev_list
 * @ibdev_name: the name "rdma link add" was given
 *
 * On failure the caller still owns @sdev and frees it with
 * ib_dealloc_device().
 */
int sodp_register_device(struct sodp_dev *sdev, const char *ibdev_name)
{
	struct ib_device *ibdev = &sdev->ibdev;
	struct net_device *ndev = sdev->ndev;
	int err;

	strscpy(ibdev->node_desc, "sodp", sizeof(ibdev->node_desc));
	ibdev->node_type = RDMA_NODE_IB_CA;
	ibdev->phys_port_cnt = 1;
	/*
	 * Completion events are raised in whichever context completes, so
	 * a vector means nothing; but applications pass their CPU number as
	 * one (UCX: its preferred CPU) and ib_uverbs refuses a vector past
	 * num_comp_vectors with EINVAL: one per possible CPU, as rxe.
	 */
	ibdev->num_comp_vectors = num_possible_cpus();
	ibdev->local_dma_lkey = 0;
	addrconf_addr_eui48((unsigned char *)&ibdev->node_guid,
			    ndev->dev_addr);
	sdev->port_state = sodp_netdev_port_state(ndev);
	/* Before anything can fail: dealloc_driver undoes it. */
	sodp_mr_dev_init(sdev);
	xa_init_flags(&sdev->qp_xa, XA_FLAGS_ALLOC);
	sdev->qp_next = 2;
	ida_init(&sdev->cq_ida);
	ida_init(&sdev->srq_ida);

	/*
	 * ib_core's default command mask leaves these out; they are the
	 * doorbells and CQ arming of sodp's shared rings.
	 */
	ibdev->uverbs_cmd_mask |= BIT_ULL(IB_USER_VERBS_CMD_POST_SEND) |
				  BIT_ULL(IB_USER_VERBS_CMD_POST_RECV) |
				  BIT_ULL(IB_USER_VERBS_CMD_REQ_NOTIFY_CQ);
	ib_set_device_ops(ibdev, &sodp_dev_ops);
	sodp_compat_set_cq_ops(ibdev);

	err = ib_device_set_netdev(ibdev, ndev, SODP_PORT);
	if (err)
		return err;

	err = ib_register_device(ibdev, ibdev_name, NULL);
	if (err)
		return err;

	/*
	 * The notifier could not see the device before it was registered;
	 * catch up with any link change it missed.
	 */
	rtnl_lock();
	sodp_port_event(sdev, sodp_netdev_port_state(ndev));
	rtnl_unlock();
	return 0;
}
