/* ocicache.h: a container rootfs's packed file records kept across creates, keyed by what makes its content certain. */
#ifndef OCI_OCICACHE_H
#define OCI_OCICACHE_H

#include <stddef.h>
#include <stdint.h>

#define OCICACHE_DIR_DEFAULT "/var/cache/ukvm-oci"
#define OCICACHE_MAX_DEFAULT (1ull << 30) /* bytes of entries kept; the least recently used go first */
#define OCICACHE_KEY_MAX 16384

/*
 * The key of the rootfs mounted at rootfs as mountinfo (a
 * /proc/PID/mountinfo file) lists it, packed without excl[nexcl]: 0 with
 * key set, or -ENOTSUP (-errno) with why in reason. Only a rootfs whose
 * content follows from its identity qualifies: an overlay (containerd's
 * overlayfs snapshotter) whose lower layers are absolute paths of
 * directories (committed snapshots, never changed once committed) and
 * whose upper layer, the container's own, is still empty. The key names
 * each lower layer by path, device, inode and ctime, so a snapshot store
 * wiped and refilled under the same paths gets new keys; then the
 * excluded paths and the packer's record format.
 */
int ocicache_key(const char *mountinfo, const char *rootfs, const char *const *excl, size_t nexcl, char *key,
		 size_t keylen, char *reason, size_t rlen);

/*
 * The records kept under key in dir: 0 with *data (malloc'ed) and *len, or
 * -ENOENT on a miss. An entry that does not hold exactly key and its
 * stated length is removed and missed. A hit marks the entry used.
 */
int ocicache_get(const char *dir, const char *key, uint8_t **data, size_t *len);

/*
 * Keeps data under key in dir (made 0700 if missing; refused when another
 * user owns it or others may write it), written whole then renamed into
 * place, so readers never see half an entry; then removes the least
 * recently used entries until at most max bytes remain. An entry bigger
 * than max is not kept (-EFBIG). 0 or -errno.
 */
int ocicache_put(const char *dir, const char *key, const uint8_t *data, size_t len, uint64_t max);

#endif
