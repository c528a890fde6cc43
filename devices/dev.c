/* dev.c: the registry of device classes; the order here is the order of the guest's virtio-mmio slots. */
#include "dev.h"

#include "blk.h"
#include "net.h"

const struct dev_class *const dev_classes[] = {
	&blk_class,
	&net_class,
};

const unsigned dev_nclasses = sizeof(dev_classes) / sizeof(dev_classes[0]);
