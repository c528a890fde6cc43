/* etc.c: /etc/hosts and /etc/resolv.conf at boot from the NICs' configuration, unless the image brings its own. */
#include <asm-generic/errno.h>
#include <string.h>

#include "fs.h"
#include "kprintf.h"
#include "net.h"

static uint32_t etc_dns[UKVM_NET_MAX_DNS];
static unsigned etc_ndns;

void net_etc_dns(const uint32_t *dns, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		bool dup = false;
		for (unsigned k = 0; k < etc_ndns; k++)
			dup |= etc_dns[k] == dns[i];
		if (!dup && etc_ndns < UKVM_NET_MAX_DNS)
			etc_dns[etc_ndns++] = dns[i];
	}
}

/* Dotted quad of a network-order address. */
static int etc_ip(char *buf, size_t size, uint32_t a)
{
	const uint8_t *b = (const uint8_t *)&a;
	return k_snprintf(buf, size, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
}

static void etc_create(const char *name, const char *text, size_t len)
{
	int rc = fs_etc_create(name, text, len);
	if (rc < 0)
		k_printf("ukvm: /etc/%s not created (%d)\n", name, rc);
}

void net_etc_init(void)
{
	char buf[256], ip[16];
	size_t len;

	len = (size_t)k_snprintf(buf, sizeof(buf), "127.0.0.1\tlocalhost\n::1\tlocalhost\n");
	struct netif *n = net_eth_first_addressed();
	if (n) {
		etc_ip(ip, sizeof(ip), netif_ip4_addr(n)->addr);
		len += (size_t)k_snprintf(buf + len, sizeof(buf) - len, "%s\tukvm\n", ip);
	}
	etc_create("hosts", buf, len);

	if (!etc_ndns)
		return; /* without the file the app's resolver asks 127.0.0.1, as it would with an empty one */
	len = 0;
	for (unsigned i = 0; i < etc_ndns; i++) {
		etc_ip(ip, sizeof(ip), etc_dns[i]);
		len += (size_t)k_snprintf(buf + len, sizeof(buf) - len, "nameserver %s\n", ip);
	}
	etc_create("resolv.conf", buf, len);
}
