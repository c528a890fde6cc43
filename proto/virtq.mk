# proto/virtq.mk: the split-virtqueue library and its unit-test wiring.
VIRTQ_SRCS := proto/virtq_dev.c proto/virtq_drv.c

# Host builds of proto/*.c get their hooks with -include; the tests use tests/unit/proto_env_host.h.
VIRTQ_TEST_ENV := -include tests/unit/proto_env_host.h

TESTED_SRCS += $(VIRTQ_SRCS)

# Pattern-specific so only these two objects get the test env (check_virtq.c includes it itself);
# spelled out because TEST_OBJDIR is only set later, by tests/build.mk.
$(BUILD)/tests/obj/proto/virtq_%.o: TEST_CFLAGS += $(VIRTQ_TEST_ENV)
