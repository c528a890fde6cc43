/* netcfg.c: a NIC's interface configuration from its FDT node (proto/ukvm_abi.h, UKVM_FDT_NET_*), every property checked. */
#include <libfdt.h>
#include <string.h>

#include "kprintf.h"
#include "net.h"
#include "ukvm_abi.h"

/* A property that is present but malformed is ignored with a one-line notice; the rest of the node still counts. */
static void netcfg_bad(const char *ifname, const char *prop, const char *why)
{
	k_printf("ukvm: %s: %s %s, ignored\n", ifname, prop, why);
}

/* The property's bytes when it has exactly len of them; NULL when absent or (with a notice) of another length. */
static const uint8_t *netcfg_prop(const void *fdt, int node, const char *ifname, const char *prop, int len)
{
	int got;
	const uint8_t *p = fdt_getprop(fdt, node, prop, &got);
	if (!p)
		return NULL;
	if (got != len) {
		netcfg_bad(ifname, prop, "has a wrong length");
		return NULL;
	}
	return p;
}

static uint32_t netcfg_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void net_cfg_read(const void *fdt, int node, const char *ifname, struct net_cfg *c)
{
	const uint8_t *p;
	int len;

	memset(c, 0, sizeof(*c));
	c->mtu = NET_MTU_DEFAULT;
	if ((p = netcfg_prop(fdt, node, ifname, UKVM_FDT_NET_MAC, 6))) {
		if (p[0] & 1)
			netcfg_bad(ifname, UKVM_FDT_NET_MAC, "is a multicast address");
		else {
			memcpy(c->mac, p, 6);
			c->has_mac = true;
		}
	}
	if ((p = netcfg_prop(fdt, node, ifname, UKVM_FDT_NET_IPV4, 4))) {
		memcpy(&c->ip, p, 4); /* network order, as lwIP keeps it */
		c->has_ip = true;
		c->prefix = 32;
	}
	if ((p = netcfg_prop(fdt, node, ifname, UKVM_FDT_NET_PREFIX, 4))) {
		uint32_t v = netcfg_be32(p);
		if (v > 32)
			netcfg_bad(ifname, UKVM_FDT_NET_PREFIX, "is over 32");
		else
			c->prefix = (uint8_t)v;
	}
	if ((p = netcfg_prop(fdt, node, ifname, UKVM_FDT_NET_GW, 4))) {
		memcpy(&c->gw, p, 4);
		c->has_gw = true;
	}
	p = fdt_getprop(fdt, node, UKVM_FDT_NET_DNS, &len);
	if (p && (len <= 0 || len % 4 || len / 4 > UKVM_NET_MAX_DNS))
		netcfg_bad(ifname, UKVM_FDT_NET_DNS, "has a wrong length");
	else if (p) {
		memcpy(c->dns, p, (size_t)len);
		c->ndns = (unsigned)len / 4;
	}
	if ((p = netcfg_prop(fdt, node, ifname, UKVM_FDT_NET_MTU, 4))) {
		uint32_t v = netcfg_be32(p);
		if (v < UKVM_NET_MTU_MIN || v > UKVM_NET_MTU_MAX)
			netcfg_bad(ifname, UKVM_FDT_NET_MTU, "is out of range");
		else {
			c->mtu = v;
			c->has_mtu = true;
		}
	}
}
