/* virtio_mmio.h: virtio-mmio version 2 (modern) register map and values (spec 4.2.2). */
#ifndef PROTO_VIRTIO_MMIO_H
#define PROTO_VIRTIO_MMIO_H

#define VIRTIO_MMIO_MAGIC 0x74726976u /* "virt" little-endian */
#define VIRTIO_MMIO_VERSION 2u        /* 1 is legacy, which we do not implement */
#define VIRTIO_MMIO_VENDOR_UKVM 0x4d564b55u /* "UKVM" little-endian; any value is allowed */
#define VIRTIO_MMIO_REGION_SIZE 0x200u /* registers + up to 256 bytes of config space */

/* Register offsets; all registers are 32 bits wide and accessed with 32-bit loads/stores. */
#define VIRTIO_MMIO_MAGIC_VALUE 0x000         /* R */
#define VIRTIO_MMIO_VERSION_REG 0x004         /* R */
#define VIRTIO_MMIO_DEVICE_ID 0x008           /* R */
#define VIRTIO_MMIO_VENDOR_ID 0x00c           /* R */
#define VIRTIO_MMIO_DEVICE_FEATURES 0x010     /* R: 32 bits selected by DEVICE_FEATURES_SEL */
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014 /* W */
#define VIRTIO_MMIO_DRIVER_FEATURES 0x020     /* W: 32 bits selected by DRIVER_FEATURES_SEL */
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024 /* W */
#define VIRTIO_MMIO_QUEUE_SEL 0x030           /* W */
#define VIRTIO_MMIO_QUEUE_NUM_MAX 0x034       /* R: 0 means the queue does not exist */
#define VIRTIO_MMIO_QUEUE_NUM 0x038           /* W */
#define VIRTIO_MMIO_QUEUE_READY 0x044         /* RW */
#define VIRTIO_MMIO_QUEUE_NOTIFY 0x050        /* W: value is the queue index */
#define VIRTIO_MMIO_INTERRUPT_STATUS 0x060    /* R */
#define VIRTIO_MMIO_INTERRUPT_ACK 0x064       /* W */
#define VIRTIO_MMIO_STATUS 0x070              /* RW: writing 0 resets the device */
#define VIRTIO_MMIO_QUEUE_DESC_LOW 0x080      /* W */
#define VIRTIO_MMIO_QUEUE_DESC_HIGH 0x084     /* W */
#define VIRTIO_MMIO_QUEUE_DRIVER_LOW 0x090    /* W: avail ring */
#define VIRTIO_MMIO_QUEUE_DRIVER_HIGH 0x094   /* W */
#define VIRTIO_MMIO_QUEUE_DEVICE_LOW 0x0a0    /* W: used ring */
#define VIRTIO_MMIO_QUEUE_DEVICE_HIGH 0x0a4   /* W */
#define VIRTIO_MMIO_SHM_SEL 0x0ac             /* W */
#define VIRTIO_MMIO_SHM_LEN_LOW 0x0b0         /* R */
#define VIRTIO_MMIO_SHM_LEN_HIGH 0x0b4        /* R */
#define VIRTIO_MMIO_SHM_BASE_LOW 0x0b8        /* R */
#define VIRTIO_MMIO_SHM_BASE_HIGH 0x0bc       /* R */
#define VIRTIO_MMIO_QUEUE_RESET 0x0c0         /* RW, with VIRTIO_F_RING_RESET */
#define VIRTIO_MMIO_CONFIG_GENERATION 0x0fc   /* R */
#define VIRTIO_MMIO_CONFIG 0x100              /* device-specific config space starts here */

/* INTERRUPT_STATUS / INTERRUPT_ACK bits. */
#define VIRTIO_MMIO_INT_VRING 1u  /* a used buffer was added */
#define VIRTIO_MMIO_INT_CONFIG 2u /* configuration changed */

#endif
